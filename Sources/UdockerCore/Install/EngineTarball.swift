import Foundation

/// udocker 1.3's tools tarball, as `udocker install` takes it (`--tarball`, UDOCKER_TARBALL): the members under
/// `udocker_dir/bin/`, `udocker_dir/lib/` and `udocker_dir/doc/` go into the repository's bin/, lib/ and doc/ by
/// their base names (lib/VERSION tells the release). The bundle's tarball holds proot, patchelf and runc with the
/// libraries they load and their own ld-linux-x86-64.so.2, and libfakechroot for several glibc generations
/// (`libfakechroot-Debian-11-x86_64.so`, …): its programs name a placeholder interpreter, pointed here at the
/// repository's lib/ld-linux-x86-64.so.2.
public struct EngineTarball {
    public let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    static let loaderName = "ld-linux-x86-64.so.2"

    /// Installs the tarball at `path` (a local file); returns the files written, as paths in the repository.
    @discardableResult
    public func install(_ path: String) throws -> [String] {
        guard FileSystem.isFile(path) else { throw UdockerError(.notFound, "tools tarball not found: \(path)") }
        try repository.create()
        let destinations = ["udocker_dir/bin/": repository.binDir, "udocker_dir/lib/": repository.libDir,
                            "udocker_dir/doc/": repository.docDir]
        let reader = try ArchiveReader(.file(path))
        var written: [String] = []
        while let member = try reader.next() {
            var name = member.displayName
            while name.hasPrefix("./") { name.removeFirst(2) }
            guard case .file = member.kind,
                  let (prefix, directory) = destinations.first(where: { name.hasPrefix($0.key) }) else { continue }
            let base = String(name.dropFirst(prefix.count))
            guard !base.isEmpty, !base.contains("/"), base != ".", base != ".." else { continue }
            let target = directory + "/" + base
            try write(reader, member, to: target)
            written.append(target)
        }
        guard FileSystem.exists(repository.libDir + "/VERSION") else {
            throw UdockerError(.invalidInput, "\(path) is not a udocker tools tarball (no udocker_dir/lib/VERSION)")
        }
        let loader = repository.libDir + "/" + Self.loaderName
        for file in written where file.hasPrefix(repository.binDir + "/") && ProgramInterpreter.isUnset(file) {
            guard FileSystem.isFile(loader) else {
                throw UdockerError(.invalidInput, "\(path) has programs for its own loader but no udocker_dir/lib/\(Self.loaderName)")
            }
            try ProgramInterpreter.set(file, to: loader)
        }
        return written
    }

    /// The member's data into a temporary file beside `target`, renamed into place (a tool may be running).
    private func write(_ reader: ArchiveReader, _ member: ArchiveMember, to target: String) throws {
        let temp = Paths.dirname(target) + "/." + Paths.basename(target) + ".install-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UdockerError.posix("cannot create", temp) }
        var open = true
        do {
            try reader.writeData(to: fd, size: member.size)
            guard fchmod(fd, member.permissions & 0o755 | 0o600) == 0, fsync(fd) == 0 else { throw UdockerError.posix("cannot write", temp) }
            close(fd)
            open = false
            guard rename(temp, target) == 0 else { throw UdockerError.posix("cannot install", target) }
        } catch {
            if open { close(fd) }
            unlink(temp)
            throw error
        }
    }

    /// A tarball named by URL, fetched into the repository's temporary directory; the caller removes it.
    public func download(_ url: String, options: TransferOptions) throws -> String {
        let transport = try RegistryTransport(baseURL: url, options: options)
        let response = try transport.request(HTTPRequest(url: url, authenticated: false, isDownload: true))
        try response.requireSuccess("tools tarball \(url)")
        try FileSystem.makeDirectories(repository.tmpDir)
        let file = repository.tmpDir + "/udocker-tools-\(getpid()).tar.gz"
        try FileSystem.atomicWrite(response.body, to: file, mode: 0o600)
        return file
    }

    /// `install --purge`: empties bin/, lib/ and doc/ first, as udocker 1.3 does.
    public func purge() throws {
        for directory in [repository.binDir, repository.libDir, repository.docDir] {
            for name in (try? FileSystem.list(directory)) ?? [] { try FileSystem.removeTree(directory + "/" + name) }
        }
    }
}
