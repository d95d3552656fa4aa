import ArgumentParser
import UdockerCore

struct CreateCommand: ParsableCommand, ChangesRepository {
    static let configuration = CommandConfiguration(
        commandName: "create", _superCommandName: "udocker",
        abstract: "Create a container from an image (pulled first when it is missing); prints its id.")

    @Option(name: .customLong("name"), help: "Give the container a name.") var name: String?
    @Flag(name: .customLong("force"), help: "Create even if the name is taken: the name moves to the new container.") var force = false
    @Argument(help: "Image (NAME[:TAG]).") var image: String

    func run() throws {
        let context = try Context.get()
        let reference = try ImageReference.parse(image)
        let id = try ContainerCreation.create(reference, name: name, force: force, context: context)
        Output.stdout(id + "\n")
    }
}

/// Creation shared by `create` and `run IMAGE`: the image is pulled first when it is missing (or always, or
/// never, as `run --pull` says), for `platform` and with `settings` when `run` gives them.
enum ContainerCreation {
    static func create(_ reference: ImageReference, name: String?, force: Bool = false, pull: PullPolicy = .missing,
                       platform: Platform? = nil, settings: RegistrySettings? = nil, context: Context) throws -> String {
        // A name that cannot be had is refused before anything is downloaded.
        if let name { try context.containers.checkCanName(name, force: force) }
        if pull == .always || (pull == .missing && !context.images.exists(reference)) {
            try RegistryAccess.pull(reference.description, platform: platform,
                                    settings: settings ?? RegistryAccess.settings(context), context: context)
        }
        let image = try context.images.image(reference)
        return try context.containers.create(from: image, name: name, force: force)
    }
}
