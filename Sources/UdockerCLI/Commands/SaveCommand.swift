import ArgumentParser
import UdockerCore

struct SaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save", _superCommandName: "udocker",
        abstract: "Write images to a docker-save tarball (docker load and udocker load read it).")

    @Option(name: [.customShort("o"), .customLong("output")], help: "The tarball to create; `-` or none writes standard output.")
    var output: String?
    @Argument(help: "Images (NAME[:TAG]); a leading `-` writes standard output.") var images: [String] = []

    func run() throws {
        var names = images
        var file = output
        if names.first == "-" {
            file = "-"
            names.removeFirst()
        }
        guard !names.isEmpty else { throw ValidationError("save needs at least one image") }
        let target = TarOutput(file)
        if case .file(let path) = target, FileSystem.exists(path) {
            throw UdockerError(.alreadyExists, "output file already exists: \(path)")
        }
        let references = try names.map(ImageReference.parse)
        try ImageArchiveSaver(store: Context.get().images).save(references, to: target)
    }
}
