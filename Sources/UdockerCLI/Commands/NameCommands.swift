import ArgumentParser
import UdockerCore

struct NameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "name", _superCommandName: "udocker",
        abstract: "Give a container a name.")
    @Argument(help: "Container id or name.") var container: String
    @Argument(help: "New name.") var name: String
    func run() throws { try Context.get().containers.setName(container, name) }
}

struct RmnameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmname", _superCommandName: "udocker",
        abstract: "Remove a container name.")
    @Argument(help: "Name to remove.") var name: String
    func run() throws { try Context.get().containers.removeName(name) }
}

struct RenameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename", _superCommandName: "udocker",
        abstract: "Rename a container name.")
    @Argument(help: "Current name.") var name: String
    @Argument(help: "New name.") var newName: String
    func run() throws { try Context.get().containers.rename(name, to: newName) }
}
