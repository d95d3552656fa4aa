import ArgumentParser
import UdockerCore

struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete containers.")

    @Flag(name: .customShort("f"), help: "Remove even when the files inside are read-only.") var force = false
    @Argument(help: "Container ids or names.") var containers: [String]

    func validate() throws {
        if containers.isEmpty { throw ValidationError("rm needs at least one container id or name") }
    }

    func run() throws {
        let store = try Context.get().containers
        var failures: [String] = []
        for container in containers {
            do {
                Log.info("deleting container: \(container)")
                try store.remove(container)
            } catch let error as UdockerError {
                Output.stderr("Error: \(error)\n")
                failures.append(container)
            }
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
