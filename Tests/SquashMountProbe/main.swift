import Foundation
import UdockerCore

// squash-mount-probe check
//     prints SquashMount.availability() for the calling user ("available" when nil).
// squash-mount-probe IMAGE ROOT SHARING-DIR KEY [--layer DIR] [--bind SOURCE:TARGET]... -- PROGRAM ARG...
//     execs PROGRAM (a path inside the image) in the U1 namespace of KEY, whose keeper mounts IMAGE at ROOT,
//     with a writable layer in DIR and the binds given.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["check"] {
    print(SquashMount.availability() ?? "available")
    exit(0)
}
func usage() -> Never {
    FileHandle.standardError.write(Data("usage: squash-mount-probe IMAGE ROOT SHARING-DIR KEY [--layer DIR] [--bind SOURCE:TARGET]... -- PROGRAM ARG...\n".utf8))
    exit(2)
}
guard let separator = arguments.firstIndex(of: "--"), separator >= 4, separator + 1 < arguments.count else { usage() }
var isolation = Isolation(root: arguments[1], binds: [], workingDirectory: "/")
isolation.image = arguments[0]
isolation.sharing = NamespaceSharing(directory: arguments[2], key: arguments[3])
var options = arguments[4..<separator].makeIterator()
while let option = options.next() {
    guard let value = options.next() else { usage() }
    switch option {
    case "--layer": isolation.writableLayer = value
    case "--bind":
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { usage() }
        isolation.binds.append(Isolation.Bind(source: parts[0], target: parts[1]))
    default: usage()
    }
}
let command = Array(arguments[(separator + 1)...])
let plan = ExecPlan(executable: command[0], arguments: command, environment: ["PATH=/bin", "HOME=/root"], isolation: isolation)
do {
    try Executor.exec(plan)
} catch {
    FileHandle.standardError.write(Data("squash-mount-probe: \(error)\n".utf8))
    exit(1)
}
