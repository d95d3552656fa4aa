import ArgumentParser
import UdockerCore

struct PullCommand: ParsableCommand, ChangesRepository {
    static let configuration = CommandConfiguration(
        commandName: "pull", _superCommandName: "udocker",
        abstract: "Download an image from a registry (Docker Hub unless the name names one).",
        discussion: """
        Examples: pull busybox   pull quay.io/org/img:1.0   pull 127.0.0.1:5000/tools/img@sha256:…
        Environment: UDOCKER_REGISTRY, UDOCKER_INDEX, SSL_CERT_FILE/CURL_CA_BUNDLE, https_proxy/no_proxy.
        """)

    @OptionGroup var registryOptions: RegistryOptions
    @Option(name: .customLong("platform"), help: "os/arch[/variant] to take from a multi-platform image (default: this machine's).")
    var platform: String?
    @Argument(help: "NAME[:TAG|@sha256:DIGEST]") var image: String

    func run() throws {
        let context = try Context.get()
        try RegistryAccess.pull(image, platform: try platform.map(Platform.parse),
                                settings: registryOptions.settings(context), context: context)
    }
}

/// `run --pull=…`: when an image is fetched before a container is made from it.
enum PullPolicy: String, ExpressibleByArgument, CaseIterable {
    case missing, never, always
}
