import Foundation

/// Containers in and out of tarballs, and copies of containers: `export`, `import --tocontainer`,
/// `import --clone` and `clone`. New containers are built in a hidden temporary directory and renamed into
/// place when complete, so a failure leaves nothing behind.
public struct ContainerTransfer {
    public let store: ContainerStore

    public init(store: ContainerStore) { self.store = store }

    private var repository: Repository { store.repository }

    /// `export`: the container's files (ROOT's contents) as a tar, or with `clone` the whole container directory
    /// (ROOT and udocker's bookkeeping files), which `import --clone` turns back into a container.
    public func export(_ idOrName: String, to output: TarOutput, clone: Bool = false) throws {
        let id = try store.resolve(idOrName)
        let directory = clone ? repository.containerDir(id) : repository.containerRoot(id)
        try output.write { fd in try TarWriter.write(directory: directory, to: fd) }
    }

    /// `import --tocontainer`: a new container whose ROOT is the tarball's file system (whiteouts applied as for
    /// a layer). `imageName` is recorded as the container's image (`IMPORTED:unknown` when none was given).
    public func importContainer(from source: ArchiveSource, imageName: String, configJSON: Data,
                                name: String?) throws -> String {
        try store.create(imageName: imageName, configJSON: configJSON, name: name) { root in
            try LayerExtractor.extract(layers: [source], into: root)
        }
    }

    /// `import --clone`: a container from an `export --clone` tarball, bookkeeping files included.
    public func importClone(from source: ArchiveSource, name: String?) throws -> String {
        let id = try store.createDirectory(name: name) { directory in
            try LayerExtractor.extractPlain(source, into: directory)
            guard FileSystem.isDirectory(directory + "/ROOT") else {
                throw UdockerError(.invalidInput, "\(source) is not a container exported with --clone: it has no ROOT")
            }
        }
        warnIfSetUpElsewhere(id)
        return id
    }

    /// `clone`: a copy of a container under a new id, symlinks, hardlinks, modes and times preserved.
    public func clone(_ idOrName: String, name: String?) throws -> String {
        let source = repository.containerDir(try store.resolve(idOrName))
        let id = try store.createDirectory(name: name) { directory in
            try TreeCopy.copy(source, into: directory)
        }
        warnIfSetUpElsewhere(id)
        return id
    }

    /// The fakechroot (F) modes bake the absolute ROOT path into the container's files: a copy needs them redone.
    private func warnIfSetUpElsewhere(_ id: String) {
        guard let mode = FileSystem.readValue(repository.containerFile(id, .execMode)), mode.hasPrefix("F") else { return }
        Log.warning("execution mode \(mode) was set up for the original location: run setup --execmode=\(mode) --force \(id)")
    }
}
