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

    /// udocker's name rule: no `/`, `.`, space or brackets, at most 2048 characters; not shaped like an id.
    public static func validateName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 2048, !name.contains(where: { "/. []".contains($0) }), !isID(name) else {
            throw UdockerError(.invalidInput, "invalid container name: \(name)")
        }
    }

    /// The id for an id or a name; throws when neither exists.
    public func resolve(_ idOrName: String) throws -> String {
        guard !idOrName.isEmpty, !idOrName.contains("/"), !idOrName.hasPrefix(".") else {
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
            FileSystem.isSymlink(repository.containerNameLink($0))
                && FileSystem.readLink(repository.containerNameLink($0)).map(Paths.basename) == id
        }
    }

    public func info(_ id: String) throws -> ContainerInfo {
        let image = (try? FileSystem.readString(repository.containerFile(id, .imageRepoName))) ?? ""
        let mode = (try? FileSystem.readString(repository.containerFile(id, .execMode)))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
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
    /// `populate` fills the ROOT directory it is given.
    public func create(imageName: String, configJSON: Data?, name: String?,
                       populate: (_ root: String) throws -> Void) throws -> String {
        try createDirectory(name: name) { dir in
            try FileSystem.makeDirectories(dir + "/ROOT")
            try populate(dir + "/ROOT")
            try FileSystem.atomicWrite(imageName, to: dir + "/" + ContainerFile.imageRepoName.rawValue)
            if let configJSON { try FileSystem.atomicWrite(configJSON, to: dir + "/" + ContainerFile.containerJSON.rawValue) }
        }
    }

    /// The one way a container directory comes to exist: `populate` fills a hidden temporary directory (ROOT and
    /// the bookkeeping files), which is renamed to `containers/<new id>` only when complete, then named.
    /// A failure, or a kill, leaves nothing that `ps` lists.
    public func createDirectory(name: String?, populate: (_ containerDir: String) throws -> Void) throws -> String {
        if let name {
            try Self.validateName(name)
            if FileSystem.exists(repository.containerNameLink(name)) {
                throw UdockerError(.alreadyExists, "container name already exists: \(name)")
            }
        }
        try FileSystem.makeDirectories(repository.containersDir)
        let temp = try FileSystem.makeTemporaryDirectory(in: repository.containersDir, prefix: ".create-")
        let id = Self.newID()
        do {
            try populate(temp)
            chmod(temp, 0o755)
            guard Glibc.rename(temp, repository.containerDir(id)) == 0 else { throw UdockerError.posix("cannot create container", id) }
        } catch {
            try? FileSystem.removeTree(temp)
            throw error
        }
        if let name { try setName(id, name) }
        return id
    }

    /// Creates a container from an image tag: layers extracted in order into ROOT.
    public func create(from image: StoredImage, name: String?) throws -> String {
        let layers = image.layerFiles
        return try create(imageName: image.reference.description, configJSON: try? image.configJSON(), name: name) { root in
            try LayerExtractor.extract(layers: layers, into: root)
        }
    }

    // MARK: names

    public func setName(_ idOrName: String, _ name: String) throws {
        let id = try resolve(idOrName)
        try Self.validateName(name)
        let link = repository.containerNameLink(name)
        guard !FileSystem.exists(link) else { throw UdockerError(.alreadyExists, "container name already exists: \(name)") }
        try FileSystem.relativeSymlink(to: repository.containerDir(id), at: link)
    }

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
        // Rename first so a half-removed container is never listed.
        let doomed = repository.containersDir + "/.rm-" + id
        guard Glibc.rename(repository.containerDir(id), doomed) == 0 else { throw UdockerError.posix("cannot remove container", id) }
        try FileSystem.removeTree(doomed)
    }
}
