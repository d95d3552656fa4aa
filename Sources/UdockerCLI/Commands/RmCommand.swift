import ArgumentParser
import UdockerCore

struct RmCommand: ParsableCommand, ChangesRepository {
    static let configuration = CommandConfiguration(
        commandName: "rm", _superCommandName: "udocker",
        abstract: "Delete containers.")

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
                // As udocker 1.3: a container that cannot be deleted gets only its error line, no "deleting".
                let id = try store.resolve(container)
                if store.isProtected(id) { throw UdockerError(.protected, "container is protected: \(container)") }
                Log.info("deleting container: \(id)")
                try store.remove(id)
            } catch let error as UdockerError {
                Output.stderr("Error: \(error)\n")
                failures.append(container)
            }
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
