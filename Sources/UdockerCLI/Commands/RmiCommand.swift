import ArgumentParser
import UdockerCore

struct RmiCommand: ParsableCommand, ChangesRepository {
    static let configuration = CommandConfiguration(
        commandName: "rmi", _superCommandName: "udocker",
        abstract: "Delete an image; blobs no other image uses are removed.")

    @Flag(name: .customShort("f"), help: "Continue when a blob cannot be removed.") var force = false
    @Argument(help: "Image (NAME[:TAG]).") var image: String

    func run() throws {
        let context = try Context.get()
        let reference = try ImageReference.parse(image)
        // As udocker 1.3: an image that cannot be deleted gets only its error line, no "deleting".
        if try context.images.image(reference).isProtected { throw UdockerError(.protected, "image is protected: \(reference)") }
        Log.info("deleting image: \(reference)")
        try context.images.remove(reference, force: force)
    }
}
