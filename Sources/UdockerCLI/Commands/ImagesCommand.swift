import ArgumentParser
import Foundation
import UdockerCore

struct ImagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images", _superCommandName: "udocker",
        abstract: "List images in the local repository.")

    @Flag(name: .customShort("l"), help: "Long format: also list each image's layers.") var long = false
    @Flag(name: .customShort("p"), help: "Print each image's platform.") var platform = false
    @Flag(name: .customLong("no-trunc"), help: .hidden) var noTrunc = false
    @Flag(name: .customLong("all"), help: .hidden) var all = false

    func run() throws {
        let context = try Context.get()
        let store = context.images
        if Log.isEnabled(.info) { Output.stdout("REPOSITORY\n") }
        for reference in try store.list() {
            guard let image = try? store.image(reference) else { continue }
            let mark = image.isProtected ? "P" : "."
            if platform {
                let text = (try? image.config().platform) ?? "unknown/unknown"
                Output.stdout(Format.pad(text, 18, truncate: true) + " \(mark) \(reference.name):\(reference.tag)\n")
            } else {
                Output.stdout("\(reference.name):\(reference.tag)    \(mark)\n")
            }
            if long {
                Output.stdout(" \(image.directory)\n")
                for file in image.layerFiles {
                    let size = FileSystem.size(file)
                    let megabytes = size > 0 ? max(1, size / (1024 * 1024)) : 0
                    Output.stdout("    /\(Paths.basename(file)) (\(megabytes) MB)\n")
                }
            }
        }
    }
}

enum Format {
    /// printf's %-N.Ns / %-Ns.
    static func pad(_ text: String, _ width: Int, truncate: Bool = false) -> String {
        let cut = truncate ? String(text.prefix(width)) : text
        return cut.count >= width ? cut : cut + String(repeating: " ", count: width - cut.count)
    }

    /// printf's %N.Ns (right-aligned).
    static func padLeft(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
