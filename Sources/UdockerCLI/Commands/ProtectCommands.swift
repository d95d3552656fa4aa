import ArgumentParser
import UdockerCore

/// protect/unprotect take a container (id or name) or an image; containers are tried first, as udocker does.
enum Protection {
    static func set(_ target: String, _ protected: Bool) throws {
        let context = try Context.get()
        if context.containers.exists(target) {
            try context.containers.setProtected(target, protected)
        } else {
            try context.images.setProtected(try ImageReference.parse(target), protected)
        }
    }
}

struct ProtectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protect", _superCommandName: "udocker",
        abstract: "Protect a container or image from deletion.")
    @Argument(help: "Container id or name, or image.") var target: String
    func run() throws { try Protection.set(target, true) }
}

struct UnprotectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unprotect", _superCommandName: "udocker",
        abstract: "Remove the deletion protection.")
    @Argument(help: "Container id or name, or image.") var target: String
    func run() throws { try Protection.set(target, false) }
}
