import ArgumentParser
import UdockerCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", _superCommandName: "udocker",
        abstract: "Check an image's layers against their digests.")
    @Argument(help: "Image (NAME[:TAG]).") var image: String

    func run() throws {
        let reference = try ImageReference.parse(image)
        Output.stdout("Info: verifying: \(reference)\n")
        let problems = try Context.get().images.verify(reference)
        for problem in problems { Output.stderr("Error: \(problem)\n") }
        guard problems.isEmpty else { throw UdockerError(.digestMismatch, "image verification failed: \(reference)") }
        Output.stdout("Info: image Ok\n")
    }
}
