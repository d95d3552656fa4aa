import Foundation
import UdockerCore

// squash-mount-probe check
//     prints SquashMount.availability() for the calling user ("available" when nil).
// squash-mount-probe IMAGE ROOT SHARING-DIR KEY [--layer DIR] -- PROGRAM ARG...
//     execs PROGRAM (a path inside the image) in the U1 namespace of KEY, whose keeper mounts IMAGE at ROOT.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["check"] {
    print(SquashMount.availability() ?? "available")
    exit(0)
}
guard let separator = arguments.firstIndex(of: "--"), separator >= 4, separator + 1 < arguments.count else {
    FileHandle.standardError.write(Data("usage: squash-mount-probe IMAGE ROOT SHARING-DIR KEY [--layer DIR] -- PROGRAM ARG...\n".utf8))
    exit(2)
}
var isolation = Isolation(root: arguments[1], binds: [], workingDirectory: "/")
isolation.image = arguments[0]
isolation.sharing = NamespaceSharing(directory: arguments[2], key: arguments[3])
if separator == 6, arguments[4] == "--layer" { isolation.writableLayer = arguments[5] }
let command = Array(arguments[(separator + 1)...])
let plan = ExecPlan(executable: command[0], arguments: command, environment: ["PATH=/bin", "HOME=/root"], isolation: isolation)
do {
    try Executor.exec(plan)
} catch {
    FileHandle.standardError.write(Data("squash-mount-probe: \(error)\n".utf8))
    exit(1)
}
