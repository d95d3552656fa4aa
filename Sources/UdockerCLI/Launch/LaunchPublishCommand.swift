import ArgumentParser
import Foundation
import UdockerCore

/// `udocker-launch publish IMAGE --to DIR [--name NAME] [--execmode MODE] [--nvidia]`: an admin's prepared,
/// read-only container that jobs stage from one archive.
struct LaunchPublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish", _superCommandName: "udocker-launch",
        abstract: "Publish an image as a prepared container (one archive and a manifest) into DIR.")

    @OptionGroup var general: LaunchGeneralOptions
    @Option(name: .customLong("to"), help: "The directory to publish into (on the shared file system).") var directory: String
    @Option(name: .customLong("name"), help: "The published name (default: the image's name and tag, e.g. debian-mpi-12).") var name: String?
    @Option(name: .customLong("execmode"), help: "Set the container up for this mode, which the launcher then uses.") var execmode: String?
    @Flag(name: .customLong("nvidia"), help: "Bind the host's NVIDIA driver at every run.") var nvidia = false
    @Option(name: .customLong("format"), help: "squashfs (default: the image's SquashFS, set up on each node) or tar.gz (the container set up once, here).")
    var format = "squashfs"
    @Argument(help: "Image in the repository.") var image: String

    func run() throws {
        let context = try general.context()
        var request = Publisher.Request(image: image, directory: directory)
        request.name = name
        request.mode = try execmode.map(ExecMode.parse)
        request.nvidia = nvidia
        guard let format = Publisher.Format(rawValue: format) else {
            throw UdockerError(.usage, "--format: \(format) is neither tar.gz nor squashfs")
        }
        request.format = format
        let published = try Publisher(repository: context.repository, tools: context.hostTools).publish(request)
        Output.stdout("published \(published.name): \(Paths.absolute(directory))/\(published.archive) "
                      + "(\(published.archiveSize) bytes, \(published.archiveDigest))\n")
    }
}

/// `udocker-launch published DIR`: the published containers' current versions, under a header line;
/// `--archive PATH` prints the archive of the version a manifest names (what a job script pins for its whole run).
struct LaunchPublishedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "published", _superCommandName: "udocker-launch",
        abstract: "List the containers published in DIR, or print the archive a manifest names.")

    @Argument(help: "The directory containers were published into.") var directory: String?
    // The first releases' spelling, kept for scripts that use it (everywhere else --repo is the udocker repository).
    @Option(name: .customLong("repo"), help: .hidden) var legacyDirectory: String?
    @Option(name: .customLong("archive"), help: "Print the archive path of the manifest at PATH.") var manifest: String?

    func run() throws {
        if let manifest {
            Output.stdout(try PublishedContainer.open(manifest).archivePath + "\n")
            return
        }
        guard let directory = directory ?? legacyDirectory else {
            throw UdockerError(.usage, "published: give the directory (udocker-launch published DIR), or --archive MANIFEST")
        }
        let rows = try PublishedContainer.list(Paths.absolute(directory)).map { published in
            [published.name, published.image, published.mode ?? "auto", "\(published.archiveSize)", published.created, published.archive]
        }
        for row in [["NAME", "IMAGE", "MODE", "SIZE", "CREATED", "ARCHIVE"]] + rows {
            Output.stdout(row.joined(separator: "\t") + "\n")
        }
    }
}
