import Foundation

/// Image tags and the content-addressed blobs they share. Every write goes to a temporary name and is renamed
/// into place, so an interrupted load or pull never leaves a tag that `images` lists.
public struct ImageStore: Sendable {
    public let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    // MARK: reading

    /// Every image tag, sorted by name then tag.
    public func list() throws -> [ImageReference] {
        var found: [ImageReference] = []
        func scan(_ dir: String, _ name: String) throws {
            // A directory may vanish while it is read: an `rmi` next to us removes empty repository directories.
            for entry in (try? FileSystem.list(dir)) ?? [] where !entry.hasPrefix(".") {
                let path = dir + "/" + entry
                guard FileSystem.isDirectory(path) else { continue }
                if FileSystem.isFile(path + "/TAG"), !name.isEmpty {
                    found.append(ImageReference(name: name, tag: entry))
                } else {
                    try scan(path, name.isEmpty ? entry : name + "/" + entry)
                }
            }
        }
        if FileSystem.isDirectoryFollowingLinks(repository.reposDir) { try scan(repository.reposDir, "") }
        return found.sorted { ($0.name, $0.tag) < ($1.name, $1.tag) }
    }

    public func exists(_ reference: ImageReference) -> Bool {
        FileSystem.isFile(repository.tagDir(reference.name, reference.tag) + "/TAG")
    }

    public func image(_ reference: ImageReference) throws -> StoredImage {
        guard exists(reference) else { throw UdockerError(.notFound, "image not found: \(reference)") }
        return try StoredImage(reference: reference, directory: repository.tagDir(reference.name, reference.tag))
    }

    // MARK: blobs

    public func hasBlob(_ digest: String) -> Bool { FileSystem.isFile(repository.layerPath(digest)) }

    /// Runs `body` while no blob can be removed: what adds blobs and then the tags that link them runs in here,
    /// so that an `rmi` or a failed load next to it cannot take a blob it just found present. Many may run at once.
    public func whileAddingBlobs<T>(_ body: () throws -> T) throws -> T {
        try FileLock.withLock(blobsLock, shared: true, body)
    }

    /// Stores `data` as a blob and returns its digest.
    @discardableResult
    public func addBlob(_ data: Data) throws -> String {
        let digest = try Digest.sha256(data)
        if !hasBlob(digest) { try FileSystem.atomicWrite(data, to: repository.layerPath(digest)) }
        return digest
    }

    /// Copies (or, with `move`, renames when on the same file system) `file` into layers/ as the blob `digest`,
    /// which the caller computed from this file (`ArchiveInspector.inspectLayer`). The data is on disk before the
    /// blob gets its name; a stored blob of another size (cut short by a crash) is replaced.
    @discardableResult
    public func addBlob(file: String, digest: String, move: Bool = false) throws -> String {
        let target = repository.layerPath(digest)
        if hasBlob(digest) && FileSystem.size(target) == FileSystem.size(file) { return digest }
        if move, FileSystem.fsyncFile(file), rename(file, target) == 0 { return digest }
        let copy = repository.layersDir + "/" + Temporary.name(.blob, String(digest.dropFirst(7).prefix(16)))
        guard FileSystem.copyFile(file, to: copy) else {
            try? FileSystem.removeFile(copy)
            throw UdockerError.posix("cannot copy", file)
        }
        guard rename(copy, target) == 0 else {
            let error = UdockerError.posix("cannot store blob", target)
            try? FileSystem.removeFile(copy)
            throw error
        }
        return digest
    }

    /// Like `addBlob(file:digest:move:)` for a file whose digest is to be computed, and checked against
    /// `expected` when given.
    @discardableResult
    public func addBlob(file: String, expected: String? = nil, move: Bool = false) throws -> String {
        let digest = try Digest.sha256(file: file)
        if let expected, expected != digest {
            throw UdockerError(.digestMismatch, "blob \(Paths.basename(file)) has digest \(digest), expected \(expected)")
        }
        return try addBlob(file: file, digest: digest, move: move)
    }

    /// Removes those of `candidates` (every blob when nil) that no tag links, once nothing is adding blobs (see
    /// `whileAddingBlobs`; not to be called from inside it). Without `wait`, does nothing when something is.
    /// Returns the blobs it could not remove.
    @discardableResult
    public func removeUnlinkedBlobs(_ candidates: Set<String>? = nil, wait: Bool = true) throws -> [String] {
        let lock = wait ? try FileLock(path: blobsLock) : try FileLock.attempt(blobsLock)
        guard let lock else { return [] }
        defer { withExtendedLifetime(lock) {} }
        let linked = try referencedBlobs()
        var failed: [String] = []
        let blobs = try candidates.map(Array.init) ?? FileSystem.list(repository.layersDir).filter { !$0.hasPrefix(".") }
        for name in blobs where !linked.contains(name) {
            do { try FileSystem.removeFile(repository.layerPath(name)) } catch { failed.append(name) }
        }
        return failed
    }

    private var blobsLock: String { repository.lockPath("blobs") }

    // MARK: writing tags

    /// Every change to tag directories holds this lock, briefly: names nest into each other's directories
    /// (`nest:1` is stored in the directory of the repository `nest/1`), so one lock covers them all.
    private var tagsLock: String { repository.lockPath("repos") }

    /// Stores an image tag (v2 format) whose manifest lists `layers` and optionally a config blob; an existing tag
    /// is an error unless `replace` (pull). All blobs must be in layers/, under `whileAddingBlobs`. The tag
    /// directory is built under a temporary name and renamed in, so readers see the old tag or the new one.
    public func storeTag(_ reference: ImageReference, manifest: Data, config: String?, layers: [String],
                         replace: Bool = false) throws {
        for digest in layers + (config.map { [$0] } ?? []) where !hasBlob(digest) {
            throw UdockerError(.notFound, "blob \(digest) of \(reference) is missing from the repository")
        }
        let repoDir = repository.repoDir(reference.name)
        try FileLock.withLock(tagsLock) {
            try checkNameIsFree(reference)
            if exists(reference) && !replace { throw UdockerError(.alreadyExists, "image already exists: \(reference)") }
            try FileSystem.makeDirectories(repoDir)
            do {
                let temp = try Temporary.makeDirectory(in: repoDir, .tag)
                defer { try? FileSystem.removeTree(temp) }
                chmod(temp, 0o755)  // mkdtemp makes 0700; udocker's tag directories are 0755
                // TAG holds "<repodir>:<tag>" as udocker 1.3 writes it.
                try FileSystem.atomicWrite(repoDir + ":" + reference.tag, to: temp + "/TAG")
                try FileSystem.touch(temp + "/v2")
                try FileSystem.atomicWrite(manifest, to: temp + "/manifest")
                for digest in Set(layers + (config.map { [$0] } ?? [])) {
                    try FileSystem.relativeSymlink(to: repository.layerPath(digest), at: temp + "/" + digest)
                }
                try replaceDirectory(repository.tagDir(reference.name, reference.tag), with: temp)
            } catch {
                removeEmptyRepositoryDirectories(reference.name)
                throw error
            }
        }
    }

    /// Refuses a name whose tag directory would be, or would sit inside, another image's directory.
    private func checkNameIsFree(_ reference: ImageReference) throws {
        let components = reference.name.split(separator: "/").map(String.init) + [reference.tag]
        var dir = repository.reposDir
        for (index, component) in components.dropLast().enumerated() {
            dir += "/" + component
            if FileSystem.isFile(dir + "/TAG") {
                let other = ImageReference(name: components[..<index].joined(separator: "/"), tag: component)
                throw UdockerError(.invalidInput, "image name \(reference) collides with image \(other)")
            }
        }
        let target = repository.tagDir(reference.name, reference.tag)
        if FileSystem.isDirectory(target) && !FileSystem.isFile(target + "/TAG"),
           try FileSystem.list(target).contains(where: { !$0.hasPrefix(".") }) {
            throw UdockerError(.invalidInput, "image name \(reference) collides with repository \(reference.name)/\(reference.tag)")
        }
    }

    /// Renames `newDir` over `target`, removing what was there. PROTECT marks survive a replacement.
    private func replaceDirectory(_ target: String, with newDir: String) throws {
        guard FileSystem.exists(target) else {
            guard rename(newDir, target) == 0 else { throw UdockerError.posix("cannot create", target) }
            return
        }
        if FileSystem.exists(target + "/PROTECT") { try FileSystem.touch(newDir + "/PROTECT") }
        let old = Paths.dirname(target) + "/" + Temporary.name(.old, Paths.basename(target))
        guard rename(target, old) == 0 else { throw UdockerError.posix("cannot replace", target) }
        guard rename(newDir, target) == 0 else {
            rename(old, target)
            throw UdockerError.posix("cannot replace", target)
        }
        // The new tag is in place: a replaced one that cannot be removed now is reclaimed by a later command.
        do { try FileSystem.removeTree(old) } catch { Log.warning("\(error)") }
    }

    /// Removes empty directories from `name`'s repository directory up to repos/, as udocker does.
    private func removeEmptyRepositoryDirectories(_ name: String) {
        var dir = repository.repoDir(name)
        while dir.count > repository.reposDir.count, rmdir(dir) == 0 { dir = Paths.dirname(dir) }
    }

    /// `tag SRC DST`: a new tag directory with the same manifest and links as the source.
    public func tag(_ source: ImageReference, as target: ImageReference) throws {
        try whileAddingBlobs {
            let image = try image(source)
            guard image.format != .v1 else { throw UdockerError(.unsupported, "cannot tag v1 image \(source)") }
            try storeTag(target, manifest: image.manifest, config: image.configDigest, layers: image.layerIDs)
        }
    }

    /// `rmi`: removes the tag, every blob no other tag links to, and the image's SquashFS when no other tag names
    /// the image. A protected tag is refused. Without `force`,
    /// a blob that cannot be removed is an error.
    public func remove(_ reference: ImageReference, force: Bool = false) throws {
        let linked = try removeTag(reference)
        try SquashImageStore(repository: repository).removeUnused(images: self)
        let failed = try removeUnlinkedBlobs(linked)
        if let blob = failed.first, !force {
            throw UdockerError(.io, "image \(reference) removed, but not its blob \(blob)")
        }
    }

    /// Removes a tag directory; returns the blob names it linked.
    func removeTag(_ reference: ImageReference) throws -> Set<String> {
        try FileLock.withLock(tagsLock) {
            let image = try image(reference)
            if image.isProtected { throw UdockerError(.protected, "image is protected: \(reference)") }
            let linked = try FileSystem.list(image.directory).filter { FileSystem.isSymlink(image.directory + "/" + $0) }
            // Renamed first: a tag half removed is never listed, and one left by a kill is reclaimed.
            let doomed = Paths.dirname(image.directory) + "/" + Temporary.name(.rm, reference.tag)
            guard rename(image.directory, doomed) == 0 else { throw UdockerError.posix("cannot remove", image.directory) }
            try FileSystem.removeTree(doomed)
            removeEmptyRepositoryDirectories(reference.name)
            return Set(linked)
        }
    }

    /// Blob file names linked from any tag directory.
    public func referencedBlobs() throws -> Set<String> {
        var names = Set<String>()
        for reference in try list() {
            let dir = repository.tagDir(reference.name, reference.tag)
            for entry in (try? FileSystem.list(dir)) ?? [] where FileSystem.isSymlink(dir + "/" + entry) {
                names.insert(entry.replacingOccurrences(of: ".layer", with: "").replacingOccurrences(of: ".json", with: ""))
                names.insert(entry)
            }
        }
        return names
    }

    // MARK: reclaiming

    /// Reclaims what killed commands left in layers/ and repos/ (see `Temporary`). A killed load, import or pull
    /// may have moved blobs in without a tag linking them: those go too, when nothing is adding blobs right now.
    public func reclaimAbandoned() {
        var reclaimed = Temporary.reclaim(in: repository.layersDir)
        func scan(_ dir: String) {
            reclaimed.formUnion(Temporary.reclaim(in: dir))
            for entry in (try? FileSystem.list(dir)) ?? [] where !entry.hasPrefix(".") {
                let path = dir + "/" + entry
                if FileSystem.isDirectory(path) && !FileSystem.isFile(path + "/TAG") { scan(path) }
            }
        }
        scan(repository.reposDir)
        if !reclaimed.isDisjoint(with: [.load, .import, .blob, .file]) { _ = try? removeUnlinkedBlobs(wait: false) }
    }

    // MARK: protection

    public func setProtected(_ reference: ImageReference, _ protected: Bool) throws {
        let dir = try image(reference).directory
        if protected { try FileSystem.touch(dir + "/PROTECT") } else { try FileSystem.removeFile(dir + "/PROTECT") }
    }

    // MARK: verification

    /// `verify`: every layer the manifest names is linked, present and whole (read to its end-of-archive marker),
    /// its sha256 matches its name and its uncompressed sha256 the configuration's diff_id; the configuration's
    /// sha256 matches its name. Returns the problems found (empty when the image is intact).
    public func verify(_ reference: ImageReference) throws -> [String] {
        let image = try image(reference)
        var problems: [String] = []
        var diffIDs: [String]?
        if let config = image.configDigest {
            let file = image.directory + "/" + config
            if FileSystem.size(file) < 0 { problems.append("config blob not found: \(config)") }
            else if try Digest.sha256(file: file) != config { problems.append("config checksum mismatch: \(config)") }
            else { diffIDs = try ImageConfig.diffIDs(json: FileSystem.read(file)) }
        }
        if let diffIDs, diffIDs.count != image.layerIDs.count {
            problems.append("configuration lists \(diffIDs.count) layer diff_ids for \(image.layerIDs.count) layers")
        }
        for (index, (id, file)) in zip(image.layerIDs, image.layerFiles).enumerated() {
            guard FileSystem.isSymlink(file) else { problems.append("layer link not found: \(id)"); continue }
            // size() follows the link: -1 when the blob it names is gone.
            guard FileSystem.size(file) >= 0 else { problems.append("layer data file not found: \(id)"); continue }
            guard id.hasPrefix("sha256:") else { continue }
            let layer: LayerDigests
            do { layer = try ArchiveInspector.inspectLayer(file, named: "layer \(id)", expected: id) } catch {
                problems.append("\(error)")
                continue
            }
            if let diffIDs, index < diffIDs.count, diffIDs[index] != layer.diffID {
                problems.append("layer \(id) has diff_id \(layer.diffID), the configuration says \(diffIDs[index])")
            }
        }
        return problems
    }
}
