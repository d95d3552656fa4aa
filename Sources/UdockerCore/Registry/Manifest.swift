import Foundation

public enum MediaType {
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"

    /// What a manifest request accepts. A registry serves an OCI manifest only to a client that lists its type.
    public static let acceptedManifests = [ociIndex, dockerManifestList, ociManifest, dockerManifest]
}

/// A content descriptor: what a manifest says about a blob or a child manifest.
public struct Descriptor: Sendable, Equatable {
    public let mediaType: String
    public let digest: String
    public let size: Int64?
    public let platform: Platform?

    init(json: [String: Any]) throws {
        guard let digest = json["digest"] as? String, Digest.isValid(digest) else {
            throw UdockerError(.registry, "manifest names an unsupported digest: \(json["digest"] ?? "none")")
        }
        self.digest = digest
        mediaType = json["mediaType"] as? String ?? ""
        size = (json["size"] as? NSNumber)?.int64Value
        platform = (json["platform"] as? [String: Any]).map(Platform.init(json:))
    }
}

/// A manifest as a registry served it: its exact bytes (what the digest covers) and what they mean.
public struct RemoteManifest: Sendable {
    public enum Content: Sendable {
        /// One image: its configuration blob and its layers, bottom first.
        case image(config: Descriptor, layers: [Descriptor])
        /// A manifest list / OCI index: one manifest per platform.
        case index([Descriptor])
    }

    public let data: Data
    public let mediaType: String
    public let digest: String
    public let content: Content

    /// Parses `data` served with `contentType`. The type comes from the Content-Type, else the document's own
    /// mediaType, else its shape (umoci leaves mediaType out).
    public init(data: Data, contentType: String?) throws {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw UdockerError(.registry, "the registry's manifest is not a JSON object")
        }
        let declared = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        var type = [declared, json["mediaType"] as? String].compactMap { $0 }
            .first { MediaType.acceptedManifests.contains($0) || $0.hasPrefix(MediaType.dockerSchema1) || $0 == MediaType.dockerSchema1Signed } ?? ""
        if type.isEmpty {
            type = json["manifests"] != nil ? MediaType.ociIndex : json["fsLayers"] != nil ? MediaType.dockerSchema1 : MediaType.ociManifest
        }
        self.data = data
        mediaType = type
        digest = try Digest.sha256(data)
        switch type {
        case MediaType.ociIndex, MediaType.dockerManifestList:
            content = .index(try (json["manifests"] as? [[String: Any]] ?? []).map(Descriptor.init(json:)))
        case MediaType.ociManifest, MediaType.dockerManifest:
            guard let config = json["config"] as? [String: Any], let layers = json["layers"] as? [[String: Any]] else {
                throw UdockerError(.registry, "the registry's image manifest lacks its config or layers")
            }
            content = .image(config: try Descriptor(json: config), layers: try layers.map(Descriptor.init(json:)))
        default:
            throw UdockerError(.unsupported, "the image has a Docker schema 1 manifest, which is deprecated and not pulled")
        }
    }
}

extension Platform {
    /// The manifest in `index` for `wanted`: an exact match first, then one that satisfies it. Entries without a
    /// real platform (attestations, `unknown/unknown`) are never chosen. The error lists what is available.
    static func select(_ wanted: Platform, from index: [Descriptor], image: String) throws -> Descriptor {
        let candidates = index.filter { $0.platform.map { $0.os != "unknown" && !$0.os.isEmpty } ?? false }
        if let exact = candidates.first(where: { $0.platform == wanted }) { return exact }
        if let match = candidates.first(where: { $0.platform!.satisfies(wanted) }) { return match }
        let available = candidates.map { $0.platform!.description }
        throw UdockerError(.notFound, "no image for platform \(wanted) in \(image); available: "
                           + (available.isEmpty ? "none" : available.joined(separator: ", ")))
    }
}
