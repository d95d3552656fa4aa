import ArgumentParser
import Foundation
import UdockerCore

struct ImportCommand: ParsableCommand, ChangesRepository {
    static let configuration = CommandConfiguration(
        commandName: "import", _superCommandName: "udocker",
        abstract: "Import a tarball of a file system as a one-layer image, or as a container.",
        discussion: "import [--mv] TAR|- IMAGE; import --tocontainer [--name=N] TAR|- [IMAGE]; import --clone [--name=N] TAR|-")

    @Flag(name: .customLong("mv"), help: "Move the tarball into the repository instead of copying it.") var move = false
    @Flag(name: .customLong("tocontainer"), help: "Create a container (prints its id), no image.") var toContainer = false
    @Flag(name: .customLong("clone"), help: "The tarball is an `export --clone` of a udocker container.") var clone = false
    @Option(name: .customLong("name"), help: "Name for the container (with --tocontainer or --clone).") var name: String?
    @Option(name: .customLong("platform"), help: "os/arch[/variant] recorded in the image configuration.") var platform: String?
    @Argument(help: "The tarball (`-`: standard input), then the image name.") var arguments: [String] = []

    func validate() throws {
        guard (1...2).contains(arguments.count) else { throw ValidationError("import needs a tarball (or -) and an image name") }
    }

    func run() throws {
        let context = try Context.get()
        let tarball = arguments[0]
        let source: ArchiveSource
        if tarball == "-" {
            guard isatty(0) == 0 else { throw UdockerError(.usage, "no tarball: give a file or pipe it in") }
            source = .descriptor(0)
        } else {
            guard FileSystem.exists(tarball) else { throw UdockerError(.notFound, "tar file does not exist: \(tarball)") }
            source = .file(tarball)
        }
        let transfer = ContainerTransfer(store: context.containers)
        if clone {
            let id = try transfer.importClone(from: source, name: name)
            try context.redoPathDependentSetup(of: id)
            Output.stdout(id + "\n")
        } else if toContainer {
            let image = try arguments.count > 1 ? ImageReference.parse(arguments[1]) : ImageReference(name: "IMPORTED", tag: "unknown")
            let config = try ImageImporter.configuration(platform: platform)
            Output.stdout(try transfer.importContainer(from: source, imageName: image.description, configJSON: config, name: name) + "\n")
        } else {
            guard arguments.count == 2 else { throw UdockerError(.usage, "must specify an image name to import into") }
            try ImageImporter(store: context.images).importTarball(source, as: ImageReference.parse(arguments[1]),
                                                                   move: move && tarball != "-", platform: platform)
        }
    }
}
