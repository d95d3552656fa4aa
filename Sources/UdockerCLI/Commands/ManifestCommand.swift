import ArgumentParser
import Foundation
import UdockerCore

struct ManifestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest", _superCommandName: "udocker", abstract: "Commands on image manifests in a registry.",
        subcommands: [ManifestInspectCommand.self])
}

struct ManifestInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print an image's manifest (or index) from its registry as JSON.")

    @OptionGroup var registryOptions: RegistryOptions
    @Option(name: .customLong("platform"), help: "From an index, print the manifest for os/arch[/variant].")
    var platform: String?
    @Argument(help: "NAME[:TAG|@sha256:DIGEST]") var image: String

    func run() throws {
        let context = try Context.get()
        let settings = registryOptions.settings(context)
        let remote = try RemoteImage.resolve(image, settings: settings)
        let client = try RegistryClient(for: remote, settings: settings, keystore: RegistryAccess.keystore(context))
        let manifest: RemoteManifest
        if let platform {
            manifest = try ImagePuller(client: client, store: context.images)
                .resolveManifest(remote, platform: try Platform.parse(platform)).0
        } else {
            manifest = try client.manifest(remote.repository, remote.reference)
        }
        let object = try JSONSerialization.jsonObject(with: manifest.data)
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        Output.stdout(String(decoding: pretty, as: UTF8.self) + "\n")
    }
}
