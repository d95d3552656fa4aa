import Foundation

/// An image tag as found in the repository: its manifest and, in order from the bottom layer up, the blob
/// files of its layers. Reads every format udocker 1.3 writes: v2 (Docker schema 2 / OCI, schema 1) and v1.
public struct StoredImage: Sendable {
    public enum Format: String, Sendable { case v2 = "v2", v2schema1 = "v2s1", v1 = "v1" }

    public let reference: ImageReference
    public let directory: String
    public let format: Format
    /// Layer digests (v2) or layer ids (v1), bottom first.
    public let layerIDs: [String]
    /// The image configuration blob, when the format has one (v2 schema 2 / OCI).
    public let configDigest: String?
    /// Raw manifest file contents (v2) or the ancestry file (v1).
    public let manifest: Data

    /// Paths of the layer tarballs through the tag directory's links, bottom first.
    public var layerFiles: [String] {
        switch format {
        case .v1: return layerIDs.map { directory + "/" + $0 + ".layer" }
        default: return layerIDs.map { directory + "/" + $0 }
        }
    }

    public var isProtected: Bool { FileSystem.exists(directory + "/PROTECT") }

    init(reference: ImageReference, directory: String) throws {
        self.reference = reference
        self.directory = directory
        if FileSystem.exists(directory + "/v1") {
            format = .v1
            manifest = try FileSystem.read(directory + "/ancestry")
            guard let ancestry = try JSONSerialization.jsonObject(with: manifest) as? [String] else {
                throw UdockerError(.invalidInput, "image \(reference) has an unreadable ancestry file")
            }
            layerIDs = ancestry.reversed()
            configDigest = nil
            return
        }
        manifest = try FileSystem.read(directory + "/manifest")
        guard let json = try? JSONSerialization.jsonObject(with: manifest) as? [String: Any] else {
            throw UdockerError(.invalidInput, "image \(reference) has an unreadable manifest")
        }
        if let fsLayers = json["fsLayers"] as? [[String: Any]] {
            format = .v2schema1
            layerIDs = fsLayers.compactMap { $0["blobSum"] as? String }.reversed()
            configDigest = nil
        } else {
            format = .v2
            layerIDs = (json["layers"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String }
            configDigest = (json["config"] as? [String: Any])?["digest"] as? String
        }
    }

    /// The image configuration JSON (what becomes a container's container.json).
    public func configJSON() throws -> Data {
        switch format {
        case .v2:
            guard let configDigest else { throw UdockerError(.invalidInput, "image \(reference) has no config in its manifest") }
            return try FileSystem.read(directory + "/" + configDigest)
        case .v2schema1:
            let json = try JSONSerialization.jsonObject(with: manifest) as? [String: Any]
            let history = json?["history"] as? [[String: Any]]
            guard let text = history?.first?["v1Compatibility"] as? String else {
                throw UdockerError(.invalidInput, "image \(reference) has no v1Compatibility history")
            }
            return Data(text.utf8)
        case .v1:
            for candidate in [directory + "/container.json", directory + "/" + (layerIDs.last ?? "") + ".json"]
            where FileSystem.exists(candidate) {
                return try FileSystem.read(candidate)
            }
            throw UdockerError(.notFound, "image \(reference) has no configuration json")
        }
    }

    public func config() throws -> ImageConfig { try ImageConfig(json: configJSON()) }
}
