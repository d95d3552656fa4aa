import Foundation

/// Platforms as images name them (`os/architecture[/variant]`, Docker's architecture names): what `import`
/// records in the configuration it writes, and which manifest of an index `load` takes.
struct ImagePlatform: Equatable, CustomStringConvertible {
    var os: String
    var architecture: String
    var variant: String = ""

    var description: String { variant.isEmpty ? "\(os)/\(architecture)" : "\(os)/\(architecture)/\(variant)" }

    /// The machine udocker runs on.
    static var host: ImagePlatform {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch machine {
        case "x86_64": return ImagePlatform(os: "linux", architecture: "amd64")
        case "aarch64": return ImagePlatform(os: "linux", architecture: "arm64")
        case "i386", "i486", "i586", "i686": return ImagePlatform(os: "linux", architecture: "386")
        case "armv7l": return ImagePlatform(os: "linux", architecture: "arm", variant: "v7")
        case "armv6l": return ImagePlatform(os: "linux", architecture: "arm", variant: "v6")
        default: return ImagePlatform(os: "linux", architecture: machine)
        }
    }

    /// `os/arch[/variant]` as given to `--platform`; parts left out are the host's.
    static func parse(_ text: String) throws -> ImagePlatform {
        let parts = text.lowercased().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), !parts.contains(where: \.isEmpty) else {
            throw UdockerError(.usage, "invalid platform \(text): expected os/arch[/variant], e.g. linux/amd64")
        }
        let host = Self.host
        return ImagePlatform(os: parts[0], architecture: parts.count > 1 ? parts[1] : host.architecture,
                             variant: parts.count > 2 ? parts[2] : (parts.count > 1 ? "" : host.variant))
    }

    /// Of an index's manifest descriptors, the one for the host: same os and architecture (and variant, when
    /// both name one); else the only one; else the first that has a real platform.
    static func select(from descriptors: [[String: Any]]) -> [String: Any]? {
        let host = Self.host
        func platform(_ descriptor: [String: Any]) -> ImagePlatform? {
            guard let json = descriptor["platform"] as? [String: Any] else { return nil }
            return ImagePlatform(os: json["os"] as? String ?? "", architecture: json["architecture"] as? String ?? "",
                                 variant: json["variant"] as? String ?? "")
        }
        if let match = descriptors.first(where: { candidate in
            guard let p = platform(candidate) else { return false }
            return p.os == host.os && p.architecture == host.architecture
                && (p.variant.isEmpty || host.variant.isEmpty || p.variant == host.variant)
        }) { return match }
        let fallback = descriptors.count == 1 ? descriptors.first
            : descriptors.first { platform($0).map { $0.os != "unknown" } ?? true }
        if let chosen = fallback.flatMap(platform) { Log.warning("no image for \(host) in the index: taking \(chosen)") }
        return fallback
    }
}
