import Foundation

/// `os/architecture[/variant]`, compared the way docker compares platforms (amd64 = x86_64, arm64 = aarch64,
/// arm64 without a variant is v8).
public struct Platform: Sendable, Equatable, CustomStringConvertible {
    public let os: String
    public let architecture: String
    public let variant: String

    public init(os: String, architecture: String, variant: String = "") {
        self.os = os.lowercased()
        let (arch, defaultVariant) = Platform.normalize(architecture.lowercased())
        self.architecture = arch
        self.variant = variant.isEmpty ? defaultVariant : variant.lowercased()
    }

    init(json: [String: Any]) {
        self.init(os: json["os"] as? String ?? "", architecture: json["architecture"] as? String ?? "",
                  variant: json["variant"] as? String ?? "")
    }

    /// Parses `os/arch[/variant]` as given to `--platform`.
    public static func parse(_ text: String) throws -> Platform {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), !parts.contains(where: \.isEmpty) else {
            throw UdockerError(.usage, "invalid platform \"\(text)\": expected os/arch[/variant], e.g. linux/arm64")
        }
        return Platform(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : "")
    }

    /// The machine udocker runs on, as docker names it.
    public static var host: Platform {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch machine {
        case "armv7l", "armv7": return Platform(os: "linux", architecture: "arm", variant: "v7")
        case "armv6l": return Platform(os: "linux", architecture: "arm", variant: "v6")
        default: return Platform(os: "linux", architecture: machine)
        }
    }

    private static func normalize(_ architecture: String) -> (String, String) {
        switch architecture {
        case "x86_64", "x86-64": return ("amd64", "")
        case "aarch64", "arm64": return ("arm64", "v8")
        case "i386", "i486", "i586", "i686": return ("386", "")
        case "armhf": return ("arm", "v7")
        case "armel": return ("arm", "v6")
        default: return (architecture, "")
        }
    }

    public var description: String { variant.isEmpty ? "\(os)/\(architecture)" : "\(os)/\(architecture)/\(variant)" }

    /// Whether an image for `self` runs where `wanted` is asked for. A wanted platform without a variant takes
    /// any variant.
    func satisfies(_ wanted: Platform) -> Bool {
        os == wanted.os && architecture == wanted.architecture && (wanted.variant.isEmpty || variant == wanted.variant)
    }

    /// Of an image archive's index entries (JSON descriptors), the one for the host; else the only one, or the first
    /// with a real platform, with a warning. Used by `load`, which unlike `pull` has no way to ask for another.
    static func selectForHost(from descriptors: [[String: Any]]) -> [String: Any]? {
        let host = Self.host
        let platforms = descriptors.map { ($0["platform"] as? [String: Any]).map(Platform.init(json:)) }
        if let index = platforms.firstIndex(where: { $0?.satisfies(host) ?? false }) { return descriptors[index] }
        let fallback = descriptors.count == 1 ? 0 : platforms.firstIndex { $0.map { $0.os != "unknown" } ?? true }
        guard let fallback else { return nil }
        if let chosen = platforms[fallback] { Log.warning("no image for \(host) in the index: taking \(chosen)") }
        return descriptors[fallback]
    }
}
