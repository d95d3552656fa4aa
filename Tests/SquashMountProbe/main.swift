import Foundation
import UdockerCore

// squash-mount-probe check
//     prints SquashMount.availability() for the calling user ("available" when nil).
// squash-mount-probe IMAGE MOUNT-POINT ROOT SHARING-DIR KEY [--layer DIR] [--bind SOURCE:TARGET]... -- PROGRAM ARG...
//     execs PROGRAM (a path inside the image) in the U1 namespace of KEY, whose keeper mounts IMAGE at
//     MOUNT-POINT and shows it at ROOT, with a writable layer in DIR (else read-only) and the binds given.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["check"] {
    print(SquashMount.availability() ?? "available")
    exit(0)
}
func usage() -> Never {
    FileHandle.standardError.write(Data("usage: squash-mount-probe IMAGE MOUNT-POINT ROOT SHARING-DIR KEY [--layer DIR] [--bind SOURCE:TARGET]... -- PROGRAM ARG...\n".utf8))
    exit(2)
}
guard let separator = arguments.firstIndex(of: "--"), separator >= 5, separator + 1 < arguments.count else { usage() }
var isolation = Isolation(root: arguments[2], binds: [], workingDirectory: "/")
isolation.image = Isolation.Image(file: arguments[0], mountPoint: arguments[1])
isolation.sharing = NamespaceSharing(directory: arguments[3], key: arguments[4])
var options = arguments[5..<separator].makeIterator()
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
