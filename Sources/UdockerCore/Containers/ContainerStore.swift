import Foundation

/// A container as listed by `ps`.
public struct ContainerInfo: Sendable {
    public let id: String
    public let names: [String]
    public let imageName: String
    public let isProtected: Bool
    public let isWritable: Bool
    public let execMode: String?
}

/// Containers under `containers/`: one directory per id holding ROOT and udocker's bookkeeping files, plus
/// name symlinks. Creation happens in a hidden temporary directory that is renamed into place when complete.
public struct ContainerStore: Sendable {
    public let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    // MARK: identity

    /// Ids look like uuids (8-4-4-4-12 lowercase hex), as udocker 1.3 makes them.
    public static func newID() -> String { UUID().uuidString.lowercased() }

    public static func isID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 5 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isLowercase || $0.isNumber } }
    }

    /// udocker's name rule: no `/`, `.`, space or brackets, at most 2048 characters; not shaped like an id. Also
    /// no control character (a newline would split `ps` rows) and no leading `-` (it would read as an option).
    public static func validateName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 2048, !name.hasPrefix("-"), !isID(name),
              !name.contains(where: { "/. []".contains($0) }),
              !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw UdockerError(.invalidInput, "invalid container name: \(name.debugDescription.dropFirst().dropLast())")
        }
    }

    /// The id for an id or a name; throws when neither exists.
    public func resolve(_ idOrName: String) throws -> String {
        guard !idOrName.isEmpty, !idOrName.contains(where: { $0 == "/" }), !idOrName.hasPrefix(".") else {
            throw UdockerError(.notFound, "container id or name not found: \(idOrName)")
        }
        let path = repository.containerNameLink(idOrName)
        switch FileSystem.kind(path) {
        case .symlink:
            if let target = FileSystem.readLink(path), FileSystem.isDirectory(repository.containerDir(Paths.basename(target))) {
                return Paths.basename(target)
            }
        case .directory:
            return idOrName
        default: break
        }
        throw UdockerError(.notFound, "container id or name not found: \(idOrName)")
    }

    public func exists(_ idOrName: String) -> Bool { (try? resolve(idOrName)) != nil }

    // MARK: listing

    public func ids() throws -> [String] {
        guard FileSystem.isDirectoryFollowingLinks(repository.containersDir) else { return [] }
        return try FileSystem.list(repository.containersDir).filter {
            !$0.hasPrefix(".") && FileSystem.isDirectory(repository.containerDir($0))
        }
    }

    public func names(of id: String) throws -> [String] {
        try FileSystem.list(repository.containersDir).filter {
            !$0.hasPrefix(".") && FileSystem.isSymlink(repository.containerNameLink($0))
                && FileSystem.readLink(repository.containerNameLink($0)).map(Paths.basename) == id
        }
    }

    public func info(_ id: String) throws -> ContainerInfo {
        let image = (try? FileSystem.readString(repository.containerFile(id, .imageRepoName))) ?? ""
        let mode = FileSystem.readValue(repository.containerFile(id, .execMode))
        return ContainerInfo(id: id, names: try names(of: id), imageName: image,
                             isProtected: FileSystem.exists(repository.containerFile(id, .protect)),
                             isWritable: access(repository.containerRoot(id), W_OK) == 0,
                             execMode: mode)
    }

    public func list() throws -> [ContainerInfo] { try ids().map(info) }

    /// The image configuration saved at create time (container.json), or an empty one.
    public func imageConfig(_ id: String) throws -> ImageConfig {
        let path = repository.containerFile(id, .containerJSON)
        guard FileSystem.exists(path) else { return ImageConfig() }
        return try ImageConfig(json: FileSystem.read(path))
    }

    // MARK: creating

    /// Builds a container in a temporary directory and renames it into place when complete.
    /// `populate` fills the ROOT directory it is given. See `createDirectory` for `name` and `force`.
    public func create(imageName: String, configJSON: Data?, name: String?, force: Bool = false,
                       populate: (_ root: String) throws -> Void) throws -> String {
        try createDirectory(name: name, force: force) { dir in
            try FileSystem.makeDirectories(dir + "/ROOT")
            try populate(dir + "/ROOT")
            try FileSystem.atomicWrite(imageName, to: dir + "/" + ContainerFile.imageRepoName.rawValue)
            if let configJSON { try FileSystem.atomicWrite(configJSON, to: dir + "/" + ContainerFile.containerJSON.rawValue) }
        }
    }

    /// The one way a container directory comes to exist: `populate` fills a hidden temporary directory (ROOT and
    /// the bookkeeping files), which is renamed to `containers/<new id>` only when complete, then named.
    /// A failure, or a kill, leaves nothing that `ps` lists.
    ///
    /// With a `name`, creation holds that name's lock throughout: of many creates of one name at once, one
    /// makes the container, and the others wait for it and then fail as a later create would (`force`: each
    /// makes its container and takes the name over in turn, as one after the other would).
    public func createDirectory(name: String?, force: Bool = false,
                                populate: (_ containerDir: String) throws -> Void) throws -> String {
        guard let name else { return try buildDirectory(populate) }
        try checkCanName(name, force: force)
        return try FileLock.withLock(nameLock(name)) {
            try checkCanName(name, force: force)
            let id = try buildDirectory(populate)
            do {
                try link(name, to: id, replacing: force)
            } catch {
                try? remove(id)
                throw error
            }
            return id
        }
    }

    /// Throws unless a new container could be given `name` now (with `force`, taking it from another).
    public func checkCanName(_ name: String, force: Bool = false) throws {
        try Self.validateName(name)
        let link = repository.containerNameLink(name)
        if force ? FileSystem.isDirectory(link) : FileSystem.exists(link) {
            throw UdockerError(.alreadyExists, "container name already exists: \(name)")
        }
    }

    private func buildDirectory(_ populate: (_ containerDir: String) throws -> Void) throws -> String {
        try FileSystem.makeDirectories(repository.containersDir)
        let temp = try Temporary.makeDirectory(in: repository.containersDir, .create)
        let id = Self.newID()
        do {
            try populate(temp)
            chmod(temp, 0o755)
            guard Glibc.rename(temp, repository.containerDir(id)) == 0 else { throw UdockerError.posix("cannot create container", id) }
        } catch {
            try? FileSystem.removeTree(temp)
            throw error
        }
        return id
    }

    /// Creates a container from an image tag: layers extracted in order into ROOT.
    public func create(from image: StoredImage, name: String?, force: Bool = false) throws -> String {
        let layers = image.layerFiles
        return try create(imageName: image.reference.description, configJSON: try? image.configJSON(), name: name,
                          force: force) { root in
            try LayerExtractor.extract(layers: layers, into: root)
        }
    }

    // MARK: names

    public func setName(_ idOrName: String, _ name: String) throws {
        let id = try resolve(idOrName)
        try Self.validateName(name)
        try FileLock.withLock(nameLock(name)) { try link(name, to: id, replacing: false) }
    }

    /// Points `name` at container `id`. symlink(2) fails on a name that exists, so of two at once one wins; with
    /// `replacing`, the new link is made aside and renamed over the old one: the name never goes missing.
    private func link(_ name: String, to id: String, replacing: Bool) throws {
        let link = repository.containerNameLink(name)
        let made = replacing ? repository.containersDir + "/" + Temporary.name(.file, "name") : link
        do { try FileSystem.relativeSymlink(to: repository.containerDir(id), at: made) } catch let error as UdockerError
            where error.code == .alreadyExists {
            throw UdockerError(.alreadyExists, "container name already exists: \(name)")
        }
        guard made != link else { return }
        guard Glibc.rename(made, link) == 0 else {
            let error = UdockerError.posix("cannot name container", name)
            try? FileSystem.removeFile(made)
            throw error
        }
    }

    /// Serialises creating and naming under one name; the lock files live on in `.locks/` (see `lockPath`).
    private func nameLock(_ name: String) -> String { repository.lockPath("name-" + name) }

    public func removeName(_ name: String) throws {
        try Self.validateName(name)
        let link = repository.containerNameLink(name)
        guard FileSystem.isSymlink(link) else { throw UdockerError(.notFound, "container name not found: \(name)") }
        try FileSystem.removeFile(link)
    }

    public func rename(_ oldName: String, to newName: String) throws {
        let id = try resolve(oldName)
        guard FileSystem.isSymlink(repository.containerNameLink(oldName)) else {
            throw UdockerError(.notFound, "container name not found: \(oldName)")
        }
        try setName(id, newName)
        try removeName(oldName)
    }

    // MARK: protection and removal

    public func setProtected(_ idOrName: String, _ protected: Bool) throws {
        let path = repository.containerFile(try resolve(idOrName), .protect)
        if protected { try FileSystem.touch(path) } else { try FileSystem.removeFile(path) }
    }

    public func isProtected(_ id: String) -> Bool { FileSystem.exists(repository.containerFile(id, .protect)) }

    /// Removes a container and its names. Read-only files inside ROOT do not stop it.
    public func remove(_ idOrName: String) throws {
        let id = try resolve(idOrName)
        if isProtected(id) { throw UdockerError(.protected, "container is protected: \(idOrName)") }
        for name in try names(of: id) { try FileSystem.removeFile(repository.containerNameLink(name)) }
        // Rename first so a half-removed container is never listed; one left by a kill is reclaimed later.
        let doomed = repository.containersDir + "/" + Temporary.name(.rm, id)
        guard Glibc.rename(repository.containerDir(id), doomed) == 0 else { throw UdockerError.posix("cannot remove container", id) }
        try FileSystem.removeTree(doomed)
    }

    /// Reclaims what killed commands left in containers/ (see `Temporary`).
    public func reclaimAbandoned() {
        Temporary.reclaim(in: repository.containersDir)
    }
}
