import ArgumentParser
import UdockerCore

struct LogoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout", _superCommandName: "udocker",
        abstract: "Remove stored registry credentials.")

    @Flag(name: .customShort("a"), help: "Remove the credentials of every registry.") var all = false
    @Option(name: .customLong("registry"), help: "Registry URL (default: Docker Hub's).") var registry: String?

    func run() throws {
        let context = try Context.get()
        let keystore = RegistryAccess.keystore(context)
        if all { try keystore.removeAll(); return }
        let url = RegistryAccess.settings(context, registry: registry).registryForUnqualifiedNames
        guard try keystore.remove(url) else { throw UdockerError(.notFound, "no credentials stored for \(url)") }
    }
}
