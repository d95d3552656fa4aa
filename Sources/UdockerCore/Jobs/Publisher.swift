import Foundation

/// `udocker-launch publish`: turns an image of the repository into a published container (see
/// `PublishedContainer` for the files). The container is built and set up for its mode once, here, then written
/// as one gzip archive; the version's manifest and then the name's manifest are written last, each atomically, so
/// a publish killed at any point leaves the previous version current and nothing new listed. Publishers of one
/// name take turns (a lock beside the manifests); each removes what a killed one left.
public struct Publisher: Sendable {
    public var repository: Repository
    public var tools: HostTools

    public init(repository: Repository, tools: HostTools) { self.repository = repository; self.tools = tools }

    public struct Request: Sendable {
        public var image: String
        public var directory: String
        public var name: String?
        public var mode: ExecMode?
        public var nvidia = false
        /// `squashfs` (the default: the image's SquashFS; the mode is set up on each node when it stages) or
        /// `tar.gz` (the container set up once, here).
        public var format = Format.squashfs

        public init(image: String, directory: String) { self.image = image; self.directory = directory }
    }

    public enum Format: String, Sendable {
        case tarGz = "tar.gz", squashfs
    }

    /// The name a published image gets without --name: its last path component and tag, `debian-mpi-12`.
    static func defaultName(_ reference: ImageReference) -> String {
        let repository = reference.description.split(separator: "/").last.map(String.init) ?? reference.description
        return repository.replacingOccurrences(of: ":", with: "-")
    }

    public func publish(_ request: Request) throws -> PublishedContainer {
        let reference = try ImageReference.parse(request.image)
        guard let image = try? ImageStore(repository: repository).image(reference) else {
            throw UdockerError(.notFound, "no image \(request.image) in \(repository.topDir) (udocker pull or load it first)")
        }
        let name = request.name ?? Self.defaultName(reference)
        try PublishedContainer.validateName(name)
        let directory = Paths.absolute(request.directory)
        guard FileSystem.isDirectoryFollowingLinks(directory), access(directory, W_OK | X_OK) == 0 else {
            throw UdockerError(.permission, "--to: not a directory you can write: \(directory)")
        }
        return try FileLock.withLock(directory + "/." + name + ".lock") {
            let temporaryPrefix = "." + name + ".publish-"
            for leftover in try FileSystem.list(directory) where leftover.hasPrefix(temporaryPrefix) {
                try FileSystem.removeTree(directory + "/" + leftover)
            }
            // One fixed path (publishers of the name take turns): an F mode's set-up writes it into the programs,
            // and the same image must give the same archive.
            let build = directory + "/" + temporaryPrefix + "build"
            guard mkdir(build, 0o700) == 0 else { throw UdockerError.posix("cannot create", build) }
            defer { try? FileSystem.removeTree(build) }
            let archive: String, config: String?
            switch request.format {
            case .tarGz:
                let container = build + "/container"
                try FileSystem.makeDirectories(container + "/ROOT")
                try NodeStage.materialize(image, into: container)
                try setUp(container, mode: request.mode, nvidia: request.nvidia)
                archive = build + "/archive.tar.gz"
                try writeArchive(of: container, to: archive, latestTime: Self.creationTime(of: image))
                config = nil
            case .squashfs:
                // Deterministic (SquashImageBuilder): the same image gives the same file, digest and stage.
                archive = build + "/archive.sqfs"
                try SquashImageBuilder.build(layers: image.layerFiles, to: archive)
                config = String(decoding: try image.configJSON(), as: UTF8.self)
            }
            let digest = try Digest.sha256(file: archive)
            let stem = PublishedContainer.versionStem(name: name, digest: digest)
            var st = stat()
            guard stat(archive, &st) == 0 else { throw UdockerError.posix("cannot stat", archive) }
            let published = PublishedContainer(
                name: name, image: reference.description, imageDigest: image.configDigest, mode: request.mode?.rawValue,
                nvidia: request.nvidia, archive: stem + (request.format == .squashfs ? PublishedContainer.squashfsSuffix : PublishedContainer.archiveSuffix),
                archiveDigest: digest, archiveSize: Int64(st.st_size), compression: request.format == .squashfs ? "squashfs" : "gzip",
                created: ISO8601DateFormatter().string(from: Date()), config: config)
            let previous = try? PublishedContainer.open(directory + "/" + name + PublishedContainer.manifestSuffix).0
            guard rename(archive, directory + "/" + published.archive) == 0 else { throw UdockerError.posix("cannot publish", directory + "/" + published.archive) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let manifest = try encoder.encode(published) + Data("\n".utf8)
            try FileSystem.atomicWrite(manifest, to: directory + "/" + stem + PublishedContainer.manifestSuffix, mode: 0o644)
            try FileSystem.atomicWrite(manifest, to: directory + "/" + name + PublishedContainer.manifestSuffix, mode: 0o644)
            try pruneVersions(of: name, in: directory, keeping: [published.archive, previous?.archive].compactMap { $0 })
            return published
        }
    }

    /// The set-up `udocker setup` would do, for the container's mode and the NVIDIA driver, done once here.
    /// (F modes' patching names the container's path: the launcher redoes that part at the stage's path, once
    /// per node, from the bookkeeping written here.)
    private func setUp(_ container: String, mode: ExecMode?, nvidia: Bool) throws {
        let root = container + "/ROOT"
        if let mode {
            try ModeSetup(tools: tools).apply(mode, containerDir: container, root: root, force: false, lock: container + "/.lock")
            try FileSystem.atomicWrite(mode.rawValue, to: container + "/" + ContainerFile.execMode.rawValue)
            try FileSystem.removeFile(container + "/.lock")
        }
        if nvidia {
            try NvidiaBinding.record(containerDir: container, root: root, roots: .host(environment: ProcessInfo.processInfo.environment))
        }
    }

    /// The image's `created` time (seconds since the epoch; 0 if it has none), the latest time its publication
    /// stores: the same image published again gives the same archive, and so the same digest and stage.
    static func creationTime(of image: StoredImage) -> Int {
        guard let data = try? image.configJSON(),
              let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let created = document["created"] as? String, created.count >= 19 else { return 0 }
        // RFC 3339 as Docker and OCI write it, `2024-06-10T08:00:00.123456789Z`: whole seconds, UTC.
        let seconds = created.prefix(19) + "Z"
        return ISO8601DateFormatter().date(from: String(seconds)).map { Int($0.timeIntervalSince1970) } ?? 0
    }

    /// The container directory as a reproducible gzip tar (no time after `latestTime`), world-readable, fsynced
    /// before it is renamed into place.
    private func writeArchive(of container: String, to path: String, latestTime: Int) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw UdockerError.posix("cannot create", path) }
        defer { close(fd) }
        fchmod(fd, 0o644)
        try TarWriter.write(directory: container, to: fd, gzip: true, reproducibleAt: latestTime)
        guard fsync(fd) == 0 else { throw UdockerError.posix("cannot write", path) }
    }

    /// Removes the name's versions other than `keeping` (the new one and the one it replaced, which jobs that
    /// read the manifest just before may still be about to open).
    private func pruneVersions(of name: String, in directory: String, keeping: [String]) throws {
        let keptStems = keeping.compactMap(PublishedContainer.stem(ofArchive:))
        for file in try FileSystem.list(directory) where file.hasPrefix(name + "@") {
            let stem = PublishedContainer.stem(ofArchive: file)
                ?? (file.hasSuffix(PublishedContainer.manifestSuffix) ? String(file.dropLast(PublishedContainer.manifestSuffix.count)) : nil)
            if let stem, !keptStems.contains(stem) { try FileSystem.removeFile(directory + "/" + file) }
        }
    }
}
