import Foundation

/// `load`: stores the images of a docker-save tarball or an OCI image-layout tarball.
///
/// The tarball is unpacked into a staging directory under layers/ (same file system: blobs are renamed into
/// place, not copied), every blob's digest is checked or computed as it is stored, and only then are the tags
/// written. When anything fails, nothing stays behind: no staging directory, no new blob, no tag.
public struct ImageArchiveLoader {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    /// Loads every image in the archive and returns the tags stored. `name`, when given, replaces the
    /// images' repository names (their tags stay), as `udocker load -i FILE NAME` does. Images with no name
    /// get udocker's random ones. Tags that already exist are left as they are (udocker refuses to overwrite
    /// them); when that leaves nothing to load, it is an error.
    public func load(_ source: ArchiveSource, name: String? = nil) throws -> [ImageReference] {
        if let name, !ImageReference.isValidName(name) { throw UdockerError(.invalidInput, "invalid image name: \(name)") }
        try FileSystem.makeDirectories(store.repository.layersDir)
        let staging = try FileSystem.makeTemporaryDirectory(in: store.repository.layersDir, prefix: ".load-")
        defer { try? FileSystem.removeTree(staging) }
        try LayerExtractor.extractPlain(source, into: staging)

        var pending: [StagedImage] = []
        var existing: [ImageReference] = []
        for var image in try ImageArchiveLayout.read(staging) {
            let tags = Self.name(image.tags, override: name)
            for tag in tags where store.exists(tag) { Log.info("repository and tag already exist: \(tag)") }
            existing += tags.filter(store.exists)
            image.tags = tags.filter { !store.exists($0) }
            if !image.tags.isEmpty { pending.append(image) }
        }
        guard !pending.isEmpty else {
            guard !existing.isEmpty else { throw UdockerError(.invalidInput, "image archive \(source) holds no image") }
            throw UdockerError(.alreadyExists, "image already exists: " + existing.map(\.description).joined(separator: ", "))
        }
        return try store(pending)
    }

    /// Fills in what the archive does not say, as udocker 1.3 does: a random 16-character name, a random
    /// 10-character tag.
    static func name(_ tags: [ImageReference], override: String?) -> [ImageReference] {
        let named = tags.isEmpty ? [ImageReference(name: "", tag: "")] : tags
        return named.map { reference in
            ImageReference(name: override ?? (reference.name.isEmpty ? randomName(16) : reference.name),
                           tag: reference.tag.isEmpty ? randomName(10) : reference.tag)
        }
    }

    private static func randomName(_ length: Int) -> String {
        String((0..<length).map { _ in "abcdef0123456789".randomElement()! })
    }

    /// Stores blobs, then tags; undoes all of it when any step fails.
    private func store(_ images: [StagedImage]) throws -> [ImageReference] {
        let blobsBefore = Set(try FileSystem.list(store.repository.layersDir))
        var digests: [String: String] = [:]  // staged path → digest, for blobs shared between images
        var stored: [ImageReference] = []
        do {
            for image in images {
                let config = try add(image.config, &digests)
                let layers = try image.layers.map { try add($0, &digests) }
                let manifest = try image.manifest
                    ?? DockerSchema2Manifest(config: config, layers: layers).json(in: store.repository)
                for tag in image.tags {
                    stored.append(tag)
                    try store.storeTag(tag, manifest: manifest, config: config, layers: layers)
                }
            }
        } catch {
            undo(tags: stored, blobs: digests.values.filter { !blobsBefore.contains($0) })
            throw error
        }
        return stored
    }

    private func add(_ blob: StagedBlob, _ digests: inout [String: String]) throws -> String {
        if let digest = digests[blob.path] { return digest }
        // The blob is renamed into layers/ with the mode the archive gave it: make it the store's usual one.
        chmod(blob.path, 0o644)
        let digest = try store.addBlob(file: blob.path, expected: blob.digest, move: true)
        digests[blob.path] = digest
        return digest
    }

    private func undo(tags: [ImageReference], blobs: [String]) {
        for tag in tags {
            if store.exists(tag) { try? store.remove(tag, force: true) }
            // storeTag makes the repository directory first: remove it again when it stayed empty.
            var dir = store.repository.repoDir(tag.name)
            while dir.count > store.repository.reposDir.count, rmdir(dir) == 0 { dir = Paths.dirname(dir) }
        }
        for digest in blobs { try? FileSystem.removeFile(store.repository.layerPath(digest)) }
    }
}
