import ArgumentParser
import UdockerCore

struct CloneCommand: ParsableCommand, ChangesRepository {
    static let configuration = CommandConfiguration(
        commandName: "clone", _superCommandName: "udocker",
        abstract: "Copy a container; prints the new id.")

    @Option(name: .customLong("name"), help: "Name for the copy.") var name: String?
    @Argument(help: "Container id or name.") var container: String

    func run() throws {
        let context = try Context.get()
        let id = try ContainerTransfer(store: context.containers).clone(container, name: name)
        try context.redoPathDependentSetup(of: id)
        Output.stdout(id + "\n")
    }
}
