import Foundation

/// Where images come from and how to reach them: udocker's configuration (`dockerio_registry_url`,
/// `dockerio_index_url`, `http_proxy`, `http_insecure`, `timeout`, `ctimeout`, `download_timeout`, with
/// UDOCKER_REGISTRY / UDOCKER_INDEX already applied) overlaid by command-line options.
public struct RegistrySettings: Sendable {
    /// The registry for names without a host (Docker Hub's by default).
    public var defaultRegistry: String
    /// The index for `search` (Docker Hub's by default).
    public var index: String
    /// `--registry=URL`: replaces the default registry.
    public var registryOverride: String?
    public var transfer = TransferOptions()
    /// Blob downloads running at once.
    public var concurrentDownloads = 4

    public init(config: Config, environment: [String: String] = ProcessInfo.processInfo.environment) {
        defaultRegistry = URLParts.normalized(config["dockerio_registry_url"] ?? "https://registry-1.docker.io")
        index = URLParts.normalized(config["dockerio_index_url"] ?? "https://hub.docker.com")
        transfer.insecure = config.bool("http_insecure")
        transfer.proxy = config["http_proxy"]
        transfer.timeout = config.int("timeout", default: 12)
        transfer.connectTimeout = config.int("ctimeout", default: 6)
        transfer.downloadTimeout = config.int("download_timeout", default: 1800)
        transfer.caFile = [environment["SSL_CERT_FILE"], environment["CURL_CA_BUNDLE"]]
            .compactMap { $0 }.first { !$0.isEmpty }
        transfer.caPath = environment["SSL_CERT_DIR"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Applies `--registry`, `--index` and `--httpproxy`.
    public mutating func apply(registry: String?, index: String?, proxy: String?) {
        if let registry, !registry.isEmpty { registryOverride = URLParts.normalized(registry) }
        if let index, !index.isEmpty { self.index = URLParts.normalized(index) }
        if let proxy, !proxy.isEmpty { transfer.proxy = proxy }
    }

    /// The registry a name without a host is pulled from.
    public var registryForUnqualifiedNames: String { registryOverride ?? defaultRegistry }
}

/// An image to fetch: the name it gets locally (`repos/<name>/<tag>`, exactly as the user typed it, as udocker
/// keeps it), the registry it comes from and its path there.
///
/// As docker reads a reference: a first component with a dot, a colon (port) or `localhost` is a registry host;
/// otherwise the image is on the default registry (Docker Hub unless configured), where a one-component name gets
/// `library/`.
public struct RemoteImage: Sendable, Equatable, CustomStringConvertible {
    public let local: ImageReference
    /// `https://host[:port]`: where to fetch it and the keystore key for its credentials.
    public let registry: String
    /// The repository path on the registry, e.g. `library/busybox`.
    public let repository: String
    /// Tag or `sha256:` digest.
    public var reference: String { local.tag }

    public init(local: ImageReference, registry: String, repository: String) {
        self.local = local
        self.registry = registry
        self.repository = repository
    }

    static let dockerHubHosts: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]

    public static func resolve(_ text: String, settings: RegistrySettings) throws -> RemoteImage {
        let local = try ImageReference.parse(text)
        var components = local.name.split(separator: "/").map(String.init)
        var registry = settings.registryForUnqualifiedNames
        var onDockerHub = true
        if components.count > 1, isHost(components[0]) {
            let host = components.removeFirst()
            if !dockerHubHosts.contains(host.lowercased()) {
                registry = URLParts.normalized(host)
                onDockerHub = false
            }
        }
        // udocker adds library/ to every one-component name on the default registry (mirrors of Docker Hub
        // expect it too); never on a registry named in the image.
        if onDockerHub && components.count == 1 { components.insert("library", at: 0) }
        return RemoteImage(local: local, registry: registry, repository: components.joined(separator: "/"))
    }

    public static func isHost(_ component: String) -> Bool {
        component.contains(".") || component.contains(":") || component == "localhost"
    }

    public var description: String { local.description }
}
