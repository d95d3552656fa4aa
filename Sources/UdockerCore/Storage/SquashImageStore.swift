import Foundation

/// The SquashFS images of the repository's images (issue 17): `squashfs/KEY.sqfs` under the repository's top
/// directory, KEY the image's config digest (or, for the old formats without a config, the digest of its layer
/// list), so every tag of one image shares one file. Built once, by the first caller that needs it: a build
/// holds the image's repository lock, and the file appears under its final name only when complete
/// (SquashImageBuilder writes a temporary, fsyncs and renames it). A caller that finds the file only `stat`s
/// it and takes no lock: the ranks of a multi-node start must not queue on a lock to read a finished file.
public struct SquashImageStore: Sendable {
    public let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    public var directory: String { repository.topDir + "/squashfs" }

    public func path(for image: StoredImage) throws -> String {
        directory + "/" + (try Self.key(image)) + ".sqfs"
    }

    /// The path of `image`'s SquashFS, built now when there is none; `built` says whether this call built it.
    public func ensure(_ image: StoredImage) throws -> (path: String, built: Bool) {
        let path = try path(for: image)
        if FileSystem.isFile(path) { return (path, false) }
        try FileSystem.makeDirectories(directory)
        return try FileLock.withLock(repository.lockPath("squashfs-" + Paths.basename(path))) {
            // Another caller may have built it while this one waited for the lock.
            if FileSystem.isFile(path) { return (path, false) }
            // What a killed builder left: its temporary, never a file under the final name.
            Temporary.reclaim(in: directory)
            Log.verbose("building the SquashFS of \(image.reference) in \(path)")
            try SquashImageBuilder.build(layers: image.layerFiles, to: path)
            return (path, true)
        }
    }

    /// `rmi`'s last step: removes the SquashFS files whose image no tag names any more (other tags of the same
    /// image keep theirs). A build racing this lands its file after the scan; the next removal takes it.
    public func removeUnused(images: ImageStore) throws {
        guard FileSystem.isDirectory(directory) else { return }
        let used = Set(try images.list().compactMap { reference in (try? images.image(reference)).flatMap { try? Self.key($0) } })
        for name in try FileSystem.list(directory) where name.hasSuffix(".sqfs") && !used.contains(String(name.dropLast(5))) {
            if unlink(directory + "/" + name) != 0 && errno != ENOENT { throw UdockerError.posix("cannot remove", directory + "/" + name) }
        }
    }

    static func key(_ image: StoredImage) throws -> String {
        if let config = image.configDigest { return config }
        return try Digest.sha256(Data(image.layerIDs.joined(separator: "\n").utf8))
    }
}
