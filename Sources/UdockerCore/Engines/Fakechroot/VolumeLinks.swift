import Foundation

/// F modes bind a volume at another container path with a symlink in ROOT that leads the kernel to the host
/// directory (this fakechroot has no directory map). The link may take the place of nothing or of an EMPTY
/// directory of the image's (nearly every image has an empty /mnt); a directory with contents stays an error.
/// Each link made is recorded beside ROOT (`volume.links`: container path, then `-` or the directory's mode), so
/// a later run without that volume puts the empty directory back, and one that binds another host path there
/// replaces the link. Applied at each run by the executor, under a lock on the record: ranks of one job may start
/// the same container at the same instant.
public struct VolumeLinks: Sendable, Equatable {
    public struct Link: Sendable, Equatable {
        public var hostPath: String
        public var containerPath: String
        public init(hostPath: String, containerPath: String) { self.hostPath = hostPath; self.containerPath = containerPath }
    }

    public var root: String
    /// The record, `volume.links` in the container's bookkeeping directory.
    public var record: String
    /// The volumes this run binds at another path.
    public var links: [Link]

    public init(root: String, record: String, links: [Link]) {
        self.root = root; self.record = record; self.links = links
    }

    /// What was at a container path before udocker put a link there: nothing, or an empty directory with this mode.
    enum Original: Equatable {
        case nothing
        case emptyDirectory(mode_t)
    }

    /// Makes ROOT's links match `links`, restoring what a previous run's links replaced.
    public func apply() throws {
        guard !links.isEmpty || FileSystem.exists(record) else { return }
        try FileLock.withLock(record + ".lock") {
            var recorded = Self.decode((try? FileSystem.readString(record)) ?? "")
            let wanted = Set(links.map(\.containerPath))
            for (path, original) in recorded where !wanted.contains(path) {
                try restore(path, original)
                recorded.removeValue(forKey: path)
            }
            for link in links { try place(link, recorded: &recorded) }
            let text = Self.encode(recorded)
            if text != (try? FileSystem.readString(record)) ?? "" { try FileSystem.atomicWrite(text, to: record) }
        }
    }

    private func place(_ link: Link, recorded: inout [String: Original]) throws {
        let path = root + link.containerPath
        switch FileSystem.kind(path) {
        case .missing:
            try FileSystem.makeDirectories(Paths.dirname(path))
            try makeLink(link.hostPath, at: path)
            if recorded[link.containerPath] == nil { recorded[link.containerPath] = .nothing }
        case .symlink:
            guard FileSystem.readLink(path) != link.hostPath else { return }
            // A link of the image's is the image's business; one udocker made for an earlier volume is replaced.
            guard recorded[link.containerPath] != nil else { throw occupied(link, "a symbolic link") }
            try FileSystem.removeFile(path)
            try makeLink(link.hostPath, at: path)
        case .directory:
            guard (try FileSystem.list(path)).isEmpty else { throw occupied(link, "a directory that is not empty") }
            var st = stat()
            guard lstat(path, &st) == 0 else { throw UdockerError.posix("cannot stat", path) }
            // Recorded before the directory goes, so a run interrupted in between still restores it.
            recorded[link.containerPath] = .emptyDirectory(st.st_mode & 0o7777)
            try FileSystem.atomicWrite(Self.encode(recorded), to: record)
            guard rmdir(path) == 0 || errno == ENOENT else { throw UdockerError.posix("cannot replace the empty directory", path) }
            try makeLink(link.hostPath, at: path)
        default:
            throw occupied(link, "a file")
        }
    }

    private func restore(_ containerPath: String, _ original: Original) throws {
        let path = root + containerPath
        if FileSystem.isSymlink(path) { try FileSystem.removeFile(path) }
        if case .emptyDirectory(let mode) = original, FileSystem.kind(path) == .missing {
            guard mkdir(path, mode) == 0 || errno == EEXIST else { throw UdockerError.posix("cannot restore directory", path) }
            chmod(path, mode)   // mkdir applies the umask
        }
    }

    private func makeLink(_ target: String, at path: String) throws {
        guard symlink(target, path) == 0 || (errno == EEXIST && FileSystem.readLink(path) == target) else {
            throw UdockerError.posix("cannot create link", path)
        }
    }

    private func occupied(_ link: Link, _ what: String) -> UdockerError {
        UdockerError(.unsupported, "cannot bind \(link.hostPath) at \(link.containerPath): the container has \(what) there "
                     + "(this mode binds a volume at its own path, or where the container has nothing or an empty directory)")
    }

    static func decode(_ text: String) -> [String: Original] {
        var result: [String: Original] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count == 2, fields[0].hasPrefix("/") else { continue }
            result[fields[0]] = fields[1] == "-" ? .nothing : mode_t(fields[1], radix: 8).map { .emptyDirectory($0) } ?? .nothing
        }
        return result
    }

    static func encode(_ entries: [String: Original]) -> String {
        entries.keys.sorted().map { path -> String in
            switch entries[path]! {
            case .nothing: return path + "\t-\n"
            case .emptyDirectory(let mode): return path + "\t" + String(mode, radix: 8) + "\n"
            }
        }.joined()
    }
}
