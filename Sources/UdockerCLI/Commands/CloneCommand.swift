import ArgumentParser
import UdockerCore

struct CloneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clone", abstract: "Copy a container; prints the new id.")

    @Option(name: .customLong("name"), help: "Name for the copy.") var name: String?
    @Argument(help: "Container id or name.") var container: String

    func run() throws {
        let id = try ContainerTransfer(store: Context.get().containers).clone(container, name: name)
        Output.stdout(id + "\n")
    }
}
