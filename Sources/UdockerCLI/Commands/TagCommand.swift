import ArgumentParser
import UdockerCore

struct TagCommand: ParsableCommand, ChangesRepository {
    static let configuration = CommandConfiguration(
        commandName: "tag", _superCommandName: "udocker",
        abstract: "Give an image another name:tag.")
    @Argument(help: "Existing image.") var source: String
    @Argument(help: "New image name.") var target: String
    func run() throws {
        try Context.get().images.tag(try ImageReference.parse(source), as: try ImageReference.parse(target))
    }
}
