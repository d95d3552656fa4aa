import Foundation

/// `load`: stores the images of a docker-save tarball or an OCI image-layout tarball.
///
/// The tarball is unpacked into a staging directory under layers/ (same file system: blobs are renamed into
/// place, not copied). Every layer is read once before anything is stored: it must be a whole tar archive, its
/// sha256 what an OCI layout names it by, its uncompressed sha256 the diff_id its configuration lists. Only then
/// are blobs and tags stored. When anything fails, nothing stays behind: no staging directory, no new blob, no tag.
public struct ImageArchiveLoader {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    /// Loads every image in the archive and returns the tags stored. `name`, when given, replaces the
    /// images' repository names (their tags stay), as `udocker load -i FILE NAME` does. Images with no name
    /// get udocker's random ones. Tags that already exist, or come to exist while this load runs (another load
    /// next to it), are left as they are (udocker refuses to overwrite them); when that leaves nothing
    /// loaded, it is an error.
    public func load(_ source: ArchiveSource, name: String? = nil) throws -> [ImageReference] {
        if let name, !ImageReference.isValidName(name) { throw UdockerError(.invalidInput, "invalid image name: \(name)") }
        try FileSystem.makeDirectories(store.repository.layersDir)
        let staging = try Temporary.makeDirectory(in: store.repository.layersDir, .load)
        defer { try? FileSystem.removeTree(staging) }
        try LayerExtractor.extractPlain(source, into: staging)

        var pending: [StagedImage] = []
        var existing: [ImageReference] = []
        for var image in try ImageArchiveLayout.read(staging) {
            let tags = Self.name(image.tags, override: name)
            existing += tags.filter(store.exists)
            image.tags = tags.filter { !store.exists($0) }
            if !image.tags.isEmpty { pending.append(image) }
        }
        guard !pending.isEmpty else {
            guard !existing.isEmpty else { throw UdockerError(.invalidInput, "image archive \(source) holds no image") }
            throw Self.alreadyExists(existing)
        }
        let layers = try inspectLayers(of: pending)
        var added = Set<String>()
        do {
            let stored = try store.whileAddingBlobs { try storeBlobsAndTags(pending, layers: layers, added: &added) }
            let skipped = existing + pending.flatMap(\.tags).filter { !stored.contains($0) }
            guard !stored.isEmpty else { throw Self.alreadyExists(skipped) }
            for tag in skipped { Log.info("repository and tag already exist: \(tag)") }
            return stored
        } catch {
            _ = try? store.removeUnlinkedBlobs(added)
            throw error
        }
    }

    private static func alreadyExists(_ tags: [ImageReference]) -> UdockerError {
        UdockerError(.alreadyExists, "image already exists: " + tags.map(\.description).joined(separator: ", "))
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

    /// Reads every layer once (see `ArchiveInspector.inspectLayer`) and checks it against what the archive and
    /// the image configuration say of it. Returns the digests by staged path.
    private func inspectLayers(of images: [StagedImage]) throws -> [String: LayerDigests] {
        var digests: [String: LayerDigests] = [:]
        for image in images {
            let what = image.tags[0].description
            let found = try image.layers.enumerated().map { index, layer in
                try digests[layer.path] ?? ArchiveInspector.inspectLayer(layer.path, named: "layer \(index + 1) of \(what)",
                                                                        expected: layer.digest)
            }
            for (layer, layerDigests) in zip(image.layers, found) { digests[layer.path] = layerDigests }
            guard let diffIDs = try ImageConfig.diffIDs(json: FileSystem.read(image.config.path)), diffIDs.count == found.count else {
                throw UdockerError(.invalidInput, "image \(what) in the archive: its configuration does not list a diff_id "
                                   + "for each of its \(found.count) layers")
            }
            for (index, (layer, diffID)) in zip(found, diffIDs).enumerated() where layer.diffID != diffID {
                throw UdockerError(.digestMismatch, "layer \(index + 1) of \(what) has diff_id \(layer.diffID), "
                                   + "its configuration says \(diffID)")
            }
        }
        return digests
    }

    /// Stores blobs, then tags; a tag that exists by now is skipped. Returns the tags stored. Every blob stored or
    /// found is added to `added`; when a step fails, the tags stored so far are removed again.
    private func storeBlobsAndTags(_ images: [StagedImage], layers digests: [String: LayerDigests],
                       added: inout Set<String>) throws -> [ImageReference] {
        var moved: [String: String] = [:]  // staged path → digest, for blobs shared between images
        func add(_ blob: StagedBlob, digest known: String?) throws -> String {
            if let digest = moved[blob.path] { return digest }
            // The blob is renamed into layers/ with the mode the archive gave it: make it the store's usual one.
            chmod(blob.path, 0o644)
            let digest = try known.map { try store.addBlob(file: blob.path, digest: $0, move: true) }
                ?? store.addBlob(file: blob.path, expected: blob.digest, move: true)
            moved[blob.path] = digest
            added.insert(digest)
            return digest
        }
        var stored: [ImageReference] = []
        do {
            for image in images {
                let config = try add(image.config, digest: nil)
                let layers = try image.layers.map { try add($0, digest: digests[$0.path]?.digest) }
                let manifest = try image.manifest
                    ?? DockerSchema2Manifest(config: config, layers: layers).json(in: store.repository)
                for tag in image.tags {
                    do {
                        try store.storeTag(tag, manifest: manifest, config: config, layers: layers)
                        stored.append(tag)
                    } catch let error as UdockerError where error.code == .alreadyExists {
                        continue  // stored meanwhile by another command: left as it is, as one found at the start
                    }
                }
            }
        } catch {
            for tag in stored { _ = try? store.removeTag(tag) }
            throw error
        }
        return stored
    }
}
