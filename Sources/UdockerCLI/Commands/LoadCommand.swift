import ArgumentParser
import Foundation
import UdockerCore

struct LoadCommand: ParsableCommand, ChangesRepository {
    static let configuration = CommandConfiguration(
        commandName: "load", _superCommandName: "udocker",
        abstract: "Load images from a docker-save or OCI image-layout tarball; prints the names loaded.")

    @Option(name: [.customShort("i"), .customLong("input")], help: "The tarball; `-` or none reads standard input.")
    var input: String?
    @Argument(help: "`-` to read standard input, then optionally a repository name for the loaded images.")
    var arguments: [String] = []

    func run() throws {
        var rest = arguments
        var file = input
        if rest.first == "-" {
            file = "-"
            rest.removeFirst()
        }
        guard rest.count <= 1 else { throw ValidationError("load takes at most one repository name") }
        let source: ArchiveSource
        if let file, file != "-" {
            guard FileSystem.exists(file) else { throw UdockerError(.notFound, "image file does not exist: \(file)") }
            source = .file(file)
        } else {
            guard isatty(0) == 0 else { throw UdockerError(.usage, "no image file: use -i FILE or pipe the tarball in") }
            source = .descriptor(0)
        }
        let loaded = try ImageArchiveLoader(store: Context.get().images).load(source, name: rest.first)
        for reference in loaded { Output.stdout(reference.description + "\n") }
    }
}
