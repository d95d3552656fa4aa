import ArgumentParser
import Foundation
import UdockerCore

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", _superCommandName: "udocker",
        abstract: "Print the metadata JSON of a container or image.")
    @Flag(name: .customShort("p"), help: "Print the container's ROOT path on the host.") var printPath = false
    @Argument(help: "Container id or name, or image.") var target: String

    func run() throws {
        let context = try Context.get()
        let json: Data
        if let id = try? context.containers.resolve(target) {
            if printPath { Output.stdout(context.repository.containerRoot(id) + "\n"); return }
            json = (try? FileSystem.read(context.repository.containerFile(id, .containerJSON))) ?? Data("{}".utf8)
        } else {
            if printPath { throw UdockerError(.notFound, "container not found: \(target)") }
            json = try context.images.image(try ImageReference.parse(target)).configJSON()
        }
        let object = try JSONSerialization.jsonObject(with: json)
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        Output.stdout(String(decoding: pretty, as: UTF8.self) + "\n")
    }
}
