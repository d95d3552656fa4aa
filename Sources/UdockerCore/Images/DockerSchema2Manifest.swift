import Foundation

/// The Docker image manifest (schema 2) that `load` and `import` write for images that arrive without one
/// (docker-save archives, plain tarballs). Blobs must already be in the repository: sizes and layer media
/// types are read from the stored files.
struct DockerSchema2Manifest {
    static let mediaType = "application/vnd.docker.distribution.manifest.v2+json"
    static let configMediaType = "application/vnd.docker.container.image.v1+json"

    let config: String
    let layers: [String]

    func json(in repository: Repository) throws -> Data {
        func descriptor(_ digest: String, _ mediaType: String) -> [String: Any] {
            ["mediaType": mediaType, "digest": digest, "size": FileSystem.size(repository.layerPath(digest))]
        }
        let document: [String: Any] = [
            "schemaVersion": 2,
            "mediaType": Self.mediaType,
            "config": descriptor(config, Self.configMediaType),
            "layers": try layers.map { descriptor($0, try Self.layerMediaType(ofFile: repository.layerPath($0))) },
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// The layer media type for a tarball, from its first bytes (gzip, zstd, else an uncompressed tar).
    static func layerMediaType(ofFile path: String) throws -> String {
        switch try Compression.detect(file: path) {
        case .gzip: return "application/vnd.docker.image.rootfs.diff.tar.gzip"
        case .zstd: return "application/vnd.docker.image.rootfs.diff.tar.zstd"
        case .none, .other: return "application/vnd.docker.image.rootfs.diff.tar"
        }
    }
}

/// How a blob is compressed, from its magic number.
enum Compression {
    case none, gzip, zstd, other

    static func detect(file path: String) throws -> Compression {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot read", path) }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 6)
        let n = read(fd, &magic, magic.count)
        guard n >= 0 else { throw UdockerError.posix("cannot read", path) }
        if n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b { return .gzip }
        if n >= 4 && magic[0...3] == [0x28, 0xb5, 0x2f, 0xfd] { return .zstd }
        if n >= 6 && magic == [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] { return .other }  // xz
        if n >= 3 && magic[0...2] == [0x42, 0x5a, 0x68] { return .other }             // bzip2
        return .none
    }
}
