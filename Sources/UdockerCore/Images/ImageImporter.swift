import Foundation

/// `import TARBALL IMAGE`: a tarball of a file system (e.g. from `docker export`) becomes the single layer of a
/// new image, with the minimal configuration udocker 1.3 writes for it.
public struct ImageImporter {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    /// Stores the tarball as a blob (renamed into layers/ with `move` when on the same file system, else
    /// copied) and tags it. `platform` is `os/arch[/variant]` for the configuration (default: the host's).
    /// The tarball must be a whole tar archive. When the tag exists, or comes to exist meanwhile (another import
    /// next to this one), it is an error and nothing is added.
    public func importTarball(_ source: ArchiveSource, as reference: ImageReference, move: Bool = false,
                              platform: String? = nil) throws {
        guard !store.exists(reference) else { throw UdockerError(.alreadyExists, "image already exists: \(reference)") }
        let platform = try platform.map(Platform.parse) ?? Platform.host
        try FileSystem.makeDirectories(store.repository.layersDir)
        let staging = try Temporary.makeDirectory(in: store.repository.layersDir, .import)
        defer { try? FileSystem.removeTree(staging) }

        let tarball: String
        var movable = move
        switch source {
        case .file(let path):
            tarball = path
        case .descriptor(let fd):
            tarball = staging + "/layer"
            try Self.copy(fd, to: tarball)
            movable = true
        }
        let layer = try ArchiveInspector.inspectLayer(tarball, named: source.description)

        var added = Set<String>()
        do {
            try store.whileAddingBlobs {
                added.insert(try store.addBlob(file: tarball, digest: layer.digest, move: movable))
                let size = FileSystem.size(store.repository.layerPath(layer.digest))
                let config = try store.addBlob(Self.configuration(platform: platform, diffID: layer.diffID, size: size))
                added.insert(config)
                let manifest = try DockerSchema2Manifest(config: config, layers: [layer.digest]).json(in: store.repository)
                try store.storeTag(reference, manifest: manifest, config: config, layers: [layer.digest])
            }
        } catch {
            _ = try? store.removeUnlinkedBlobs(added)
            throw error
        }
        Log.info("added layer \(reference)")
    }

    /// The configuration udocker 1.3 gives an imported file system (create_container_meta): no command, no
    /// environment; `diffID` and `size` describe the layer when there is one (not for `import --tocontainer`).
    public static func configuration(platform: String?, diffID: String? = nil, size: Int64? = nil) throws -> Data {
        try configuration(platform: platform.map(Platform.parse) ?? .host, diffID: diffID, size: size)
    }

    static func configuration(platform: Platform, diffID: String?, size: Int64?) throws -> Data {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var config: [String: Any] = [
            "comment": "created by udocker",
            "created": formatter.string(from: Date()),
            "architecture": platform.architecture,
            "os": platform.os,
            "config": emptyRunConfig,
            "container_config": emptyRunConfig,
        ]
        if !platform.variant.isEmpty { config["variant"] = platform.variant }
        if let size { config["size"] = size }
        if let diffID { config["rootfs"] = ["type": "layers", "diff_ids": [diffID]] }
        return try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    private static var emptyRunConfig: [String: Any] {
        var config: [String: Any] = [:]
        for key in ["Hostname", "Domainname", "User", "Cpuset", "Image", "WorkingDir", "MacAddress"] { config[key] = "" }
        for key in ["Memory", "MemorySwap", "CpusShares"] { config[key] = 0 }
        for key in ["AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce", "NetworkDisable"] {
            config[key] = false
        }
        for key in ["PortSpecs", "ExposedPorts", "Env", "Cmd", "Volumes", "Entrypoint", "OnBuild", "Labels"] {
            config[key] = NSNull()
        }
        return config
    }

    /// Copies a stream (stdin) into a file, 1 MiB at a time.
    static func copy(_ input: Int32, to path: String) throws {
        let output = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw UdockerError.posix("cannot create", path) }
        defer { close(output) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(input, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw UdockerError.posix("cannot read", "standard input")
            }
            if n == 0 { return }
            var done = 0
            while done < n {
                let w = write(output, buffer.baseAddress! + done, n - done)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw UdockerError.posix("cannot write", path)
                }
                done += w
            }
        }
    }
}
