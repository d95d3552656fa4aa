import CArchive
import Foundation

/// One member to write with `TarWriter.add`: what `save` needs for its small JSON files, and what tests need
/// to craft any archive, hostile ones included (names are written exactly as given).
public struct TarEntry: Sendable {
    public enum Kind: Sendable, Equatable {
        case file(Data)
        case directory
        case symlink(String)
        case hardlink(String)
        case fifo
    }

    public var name: String
    public var kind: Kind
    public var mode: UInt32
    public var modificationTime: Int

    public init(_ name: String, _ kind: Kind, mode: UInt32? = nil, modificationTime: Int = 1_700_000_000) {
        self.name = name
        self.kind = kind
        switch kind {
        case .directory: self.mode = mode ?? 0o755
        case .symlink: self.mode = mode ?? 0o777
        default: self.mode = mode ?? 0o644
        }
        self.modificationTime = modificationTime
    }

    public static func file(_ name: String, _ text: String, mode: UInt32 = 0o644) -> TarEntry {
        TarEntry(name, .file(Data(text.utf8)), mode: mode)
    }

    public static func directory(_ name: String, mode: UInt32 = 0o755) -> TarEntry { TarEntry(name, .directory, mode: mode) }
    public static func symlink(_ name: String, to target: String) -> TarEntry { TarEntry(name, .symlink(target)) }
    public static func hardlink(_ name: String, to target: String) -> TarEntry { TarEntry(name, .hardlink(target)) }
}

/// Writes a POSIX (pax) tar archive, optionally gzip-compressed, to a descriptor: crafted members, files copied
/// from disk, or whole directory trees with symlinks, hardlinks, modes and times preserved. Call `finish()`
/// to complete the archive; a writer dropped without it leaves no end-of-archive marker.
public final class TarWriter {
    private let archive: OpaquePointer
    private let entry: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer
    private var finished = false

    /// Set for a reproducible archive (see `addTree`).
    private let latestTime: Int?

    /// - `reproducibleAt`: write the same bytes for the same tree whenever it is written: no time later than this
    ///   one (seconds since the epoch) is stored, no access or change time, and no timestamp in the gzip header.
    public init(descriptor: Int32, gzip: Bool = false, reproducibleAt latestTime: Int? = nil) throws {
        self.latestTime = latestTime
        try ArchiveRuntime.load()
        guard let archive = archive_write_new(), let entry = archive_entry_new() else {
            throw UdockerError(.internalError, "libarchive: out of memory")
        }
        self.archive = archive
        self.entry = entry
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
        archive_write_set_format_pax_restricted(archive)
        if gzip {
            archive_write_add_filter_gzip(archive)
            if latestTime != nil { archive_write_set_filter_option(archive, "gzip", "timestamp", nil) }
        }
        guard archive_write_open_fd(archive, descriptor) == ARCHIVE_OK else {
            throw UdockerError(.io, "cannot start the tar archive", cause: LibarchiveMessage(archive))
        }
    }

    deinit {
        // Mark the archive failed so that freeing it does not append an end marker to a partial archive.
        if !finished { archive_write_fail(archive) }
        archive_write_free(archive)
        archive_entry_free(entry)
        buffer.deallocate()
    }

    /// Writes the end-of-archive marker and flushes the compressor.
    public func finish() throws {
        finished = true
        guard archive_write_close(archive) == ARCHIVE_OK else {
            throw UdockerError(.io, "cannot complete the tar archive", cause: LibarchiveMessage(archive))
        }
    }

    // MARK: crafted members

    public func add(_ member: TarEntry) throws {
        archive_entry_clear(entry)
        archive_entry_copy_pathname(entry, member.name)
        archive_entry_set_perm(entry, mode_t(member.mode & 0o7777))
        archive_entry_set_mtime(entry, time_t(member.modificationTime), 0)
        var contents: Data?
        switch member.kind {
        case .file(let data):
            archive_entry_set_filetype(entry, UInt32(S_IFREG as mode_t))
            archive_entry_set_size(entry, Int64(data.count))
            contents = data
        case .directory:
            archive_entry_set_filetype(entry, UInt32(S_IFDIR as mode_t))
        case .symlink(let target):
            archive_entry_set_filetype(entry, UInt32(S_IFLNK as mode_t))
            archive_entry_copy_symlink(entry, target)
        case .hardlink(let target):
            archive_entry_set_filetype(entry, UInt32(S_IFREG as mode_t))
            archive_entry_copy_hardlink(entry, target)
        case .fifo:
            archive_entry_set_filetype(entry, UInt32(S_IFIFO as mode_t))
        }
        try writeHeader(member.name)
        try contents?.withUnsafeBytes { try writeData($0, member.name) }
    }

    /// Adds the regular file at `path` as member `name`, streaming its contents.
    public func addFile(_ name: String, contentsOf path: String, mode: UInt32 = 0o644) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot read", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw UdockerError.posix("cannot stat", path) }
        archive_entry_clear(entry)
        archive_entry_copy_pathname(entry, name)
        archive_entry_set_filetype(entry, UInt32(S_IFREG as mode_t))
        archive_entry_set_perm(entry, mode_t(mode & 0o7777))
        archive_entry_set_size(entry, Int64(st.st_size))
        archive_entry_set_mtime(entry, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
        try writeHeader(name)
        try copyContents(of: fd, size: Int64(st.st_size), name)
    }

    // MARK: directory trees

    /// Adds everything under `directory` (not the directory itself), named relative to it. Symlinks stay links,
    /// files sharing an inode become one file and hardlinks to it, modes, owners (numeric) and times are kept.
    /// Sockets are skipped; directories on other file systems are stored empty.
    public func addTree(_ directory: String) throws {
        var firstNames: [TreeWalker.FileID: [CChar]] = [:]
        try TreeWalker(root: directory).walk { item in
            var st = item.status
            let type = st.st_mode & S_IFMT
            if type == S_IFSOCK {
                Log.debug("skipping socket \(String(nulTerminated: item.path))")
                return
            }
            archive_entry_clear(entry)
            archive_entry_copy_pathname(entry, item.path)
            archive_entry_copy_stat(entry, &st)
            if let latestTime {
                // Only the modification time, clamped: a file made after `latestTime` (by the set-up, or
                // by the extraction itself, as a directory is) gets that time, so a rebuild stores the same.
                archive_entry_unset_atime(entry)
                archive_entry_unset_ctime(entry)
                archive_entry_unset_birthtime(entry)
                if st.st_mtim.tv_sec >= latestTime { archive_entry_set_mtime(entry, time_t(latestTime), 0) }
            }
            var dataSize: Int64 = 0
            if type == S_IFLNK {
                archive_entry_copy_symlink(entry, try DescriptorCalls.readLink(item.name, in: item.directory))
            } else if type == S_IFREG {
                dataSize = Int64(st.st_size)
                if st.st_nlink > 1 {
                    let id = TreeWalker.FileID(st)
                    if let first = firstNames[id] {
                        archive_entry_copy_hardlink(entry, first)
                        dataSize = 0
                    } else {
                        firstNames[id] = item.path
                    }
                }
            }
            if type != S_IFREG || dataSize == 0 { archive_entry_set_size(entry, 0) }
            let name = String(nulTerminated: item.path)
            try writeHeader(name)
            guard dataSize > 0 else { return }
            let fd = openat(item.directory, item.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw UdockerError.posix("cannot read", directory + "/" + name) }
            defer { close(fd) }
            try copyContents(of: fd, size: dataSize, name)
        }
    }

    /// Writes the tree under `directory` as a tar archive to `output` (see `addTree`, and `init` for
    /// `reproducibleAt`).
    public static func write(directory: String, to output: Int32, gzip: Bool = false, reproducibleAt latestTime: Int? = nil) throws {
        let writer = try TarWriter(descriptor: output, gzip: gzip, reproducibleAt: latestTime)
        try writer.addTree(directory)
        try writer.finish()
    }

    // MARK: plumbing

    private func writeHeader(_ name: String) throws {
        guard archive_write_header(archive, entry) >= ARCHIVE_WARN else {
            throw UdockerError(.io, "cannot write tar member \(name)", cause: LibarchiveMessage(archive))
        }
    }

    private func writeData(_ bytes: UnsafeRawBufferPointer, _ name: String) throws {
        guard bytes.count > 0 else { return }
        guard archive_write_data(archive, bytes.baseAddress, bytes.count) == bytes.count else {
            throw UdockerError(.io, "cannot write tar member \(name)", cause: LibarchiveMessage(archive))
        }
    }

    /// Copies `size` bytes from `fd`; a file that shrank meanwhile is an error rather than a corrupt member.
    private func copyContents(of fd: Int32, size: Int64, _ name: String) throws {
        var left = size
        while left > 0 {
            let n = read(fd, buffer.baseAddress, Int(min(Int64(buffer.count), left)))
            if n < 0 {
                if errno == EINTR { continue }
                throw UdockerError.posix("cannot read", name)
            }
            if n == 0 { throw UdockerError(.io, "\(name) shrank while it was archived") }
            try writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), name)
            left -= Int64(n)
        }
    }
}
