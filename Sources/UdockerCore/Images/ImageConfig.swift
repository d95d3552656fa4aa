import Foundation

/// The parts of an image configuration (the `container.json` udocker keeps beside a container) that running
/// a container needs. Parsed leniently: Docker writes `null` or a bare string where a list is expected.
public struct ImageConfig: Sendable, Equatable {
    public var entrypoint: [String] = []
    public var cmd: [String] = []
    public var env: [String] = []
    public var workingDir: String = ""
    public var user: String = ""
    public var architecture: String = ""
    public var os: String = ""
    public var variant: String = ""

    public init() {}

    public init(json data: Data) throws {
        guard let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw UdockerError(.invalidInput, "image configuration is not a JSON object")
        }
        let config = (top["config"] as? [String: Any]) ?? (top["container_config"] as? [String: Any]) ?? [:]
        entrypoint = Self.stringList(config["Entrypoint"])
        cmd = Self.stringList(config["Cmd"])
        env = Self.stringList(config["Env"])
        workingDir = config["WorkingDir"] as? String ?? ""
        user = config["User"] as? String ?? ""
        architecture = top["architecture"] as? String ?? ""
        os = top["os"] as? String ?? ""
        variant = top["variant"] as? String ?? ""
    }

    /// The configuration's `rootfs.diff_ids`: the digest of each layer's uncompressed tar, bottom first; nil when
    /// it has none (v1 and schema 1 images).
    public static func diffIDs(json data: Data) throws -> [String]? {
        guard let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw UdockerError(.invalidInput, "image configuration is not a JSON object")
        }
        return (top["rootfs"] as? [String: Any])?["diff_ids"] as? [String]
    }

    /// `os/arch[/variant]` as udocker prints it in `images -p`.
    public var platform: String {
        let base = "\(os.isEmpty ? "unknown" : os)/\(architecture.isEmpty ? "unknown" : architecture)"
        return variant.isEmpty ? base : base + "/" + variant
    }

    private static func stringList(_ value: Any?) -> [String] {
        if let list = value as? [Any] { return list.compactMap { $0 as? String } }
        if let single = value as? String, !single.isEmpty { return ["/bin/sh", "-c", single] }
        return []
    }
}
