import ArgumentParser
import Foundation
import UdockerCore

/// `--registry`, `--index` and `--httpproxy`, shared by pull, search and manifest.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("registry"), help: "Registry URL for names without a host (default: Docker Hub's).")
    var registry: String?
    @Option(name: .customLong("index"), help: "Index URL for search (default: https://hub.docker.com).")
    var index: String?
    @Option(name: .customLong("httpproxy"), help: "Proxy for every transfer, e.g. http://host:3128 or socks5h://host:1080.")
    var httpProxy: String?

    func settings(_ context: Context) -> RegistrySettings {
        RegistryAccess.settings(context, registry: registry, index: index, proxy: httpProxy)
    }
}

/// What the registry commands share: settings from the configuration and options, the keystore, and pulling.
enum RegistryAccess {
    static func settings(_ context: Context, registry: String? = nil, index: String? = nil, proxy: String? = nil) -> RegistrySettings {
        var settings = RegistrySettings(config: context.config)
        settings.apply(registry: registry, index: index, proxy: proxy)
        settings.transfer.userAgent = "udocker/" + UdockerVersion.string
        return settings
    }

    static func keystore(_ context: Context) -> KeyStore { KeyStore(path: context.repository.keystorePath) }

    /// Pulls `text` (NAME[:TAG|@DIGEST]) into the repository, as `pull`, `create` and `run` do.
    @discardableResult
    static func pull(_ text: String, platform: Platform?, settings: RegistrySettings, context: Context) throws -> ImageReference {
        let image = try RemoteImage.resolve(text, settings: settings)
        Log.debug("pull \(image.local) from \(image.registry)/v2/\(image.repository)")
        let client = try RegistryClient(for: image, settings: settings, keystore: keystore(context))
        try ImagePuller(client: client, store: context.images).pull(image, platform: platform)
        return image.local
    }
}
