import CArchive
import Foundation

/// Where archive bytes come from: a file, or an already open descriptor such as stdin (fd 0).
public enum ArchiveSource: Sendable, CustomStringConvertible {
    case file(String)
    case descriptor(Int32)

    public var description: String {
        switch self {
        case .file(let path): return path
        case .descriptor(0): return "standard input"
        case .descriptor(let fd): return "descriptor \(fd)"
        }
    }
}

/// One member's header, copied out of libarchive. Names and link targets stay raw bytes: a file name on Linux
/// need not be UTF-8, and a String round trip would change it.
struct ArchiveMember {
    enum Kind {
        case file, directory
        case symlink(target: [CChar])
        case hardlink(target: [CChar])
        /// Device nodes, fifos and sockets: unprivileged extraction skips them.
        case special(description: String)
    }

    let name: [CChar]
    let kind: Kind
    /// Permission bits (including setuid/setgid/sticky) as stored.
    let permissions: mode_t
    /// Declared size of the data, when the header has one.
    let size: Int64?
    let modificationTime: timespec?

    var displayName: String { String(nulTerminated: name) }
}

/// Streams the members of a tar archive (plain, gzip, zstd, xz, bzip2: libarchive detects the compression).
/// Only tar is accepted: other formats libarchive knows (mtree in particular, which names files on the host)
/// have no place in an image.
final class ArchiveReader {
    private let archive: OpaquePointer
    private let source: ArchiveSource
    /// How many bytes libarchive asks the file system for at a time.
    static let blockSize = 1 << 20

    init(_ source: ArchiveSource, rawData: Bool = false) throws {
        try ArchiveRuntime.load()
        guard let archive = archive_read_new() else { throw UdockerError(.internalError, "libarchive: out of memory") }
        self.archive = archive
        self.source = source
        archive_read_support_filter_all(archive)
        if rawData {
            archive_read_support_format_raw(archive)
        } else {
            archive_read_support_format_tar(archive)
            archive_read_support_format_empty(archive)
        }
        let status: Int32
        switch source {
        case .file(let path): status = archive_read_open_filename(archive, path, Self.blockSize)
        case .descriptor(let fd): status = archive_read_open_fd(archive, fd, Self.blockSize)
        }
        // All properties are set: deinit frees the handle on this path too.
        if status != ARCHIVE_OK {
            // libarchive reports input it cannot make sense of with ARCHIVE_ERRNO_FILE_FORMAT, EILSEQ on Linux.
            if archive_errno(archive) == EILSEQ {
                throw UdockerError(.invalidInput, "\(source) is not a tar archive", cause: LibarchiveMessage(archive))
            }
            throw UdockerError(.io, "cannot read archive \(source)", cause: LibarchiveMessage(archive))
        }
    }

    deinit { archive_read_free(archive) }

    /// The next member, or nil at the end of the archive. Its data is read with `readData` before the next call
    /// (or skipped by it).
    func next() throws -> ArchiveMember? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        if status == ARCHIVE_EOF { return nil }
        // ARCHIVE_WARN covers harmless notes such as a UTF-8 name that the C locale cannot convert.
        guard status >= ARCHIVE_WARN, let entry else {
            throw UdockerError(.invalidInput, "\(source) is not a readable tar archive", cause: LibarchiveMessage(archive))
        }
        guard let name = archive_entry_pathname(entry) else {
            throw UdockerError(.invalidInput, "\(source) has a member without a name")
        }
        let kind: ArchiveMember.Kind
        if let target = archive_entry_hardlink(entry) {
            kind = .hardlink(target: Self.copy(target))
        } else {
            switch mode_t(archive_entry_filetype(entry)) & S_IFMT {
            case S_IFREG: kind = .file
            case S_IFDIR: kind = .directory
            case S_IFLNK: kind = .symlink(target: archive_entry_symlink(entry).map(Self.copy) ?? [0])
            case S_IFCHR: kind = .special(description: "character device")
            case S_IFBLK: kind = .special(description: "block device")
            case S_IFIFO: kind = .special(description: "fifo")
            default: kind = .special(description: "socket or unknown file type")
            }
        }
        return ArchiveMember(
            name: Self.copy(name), kind: kind,
            permissions: mode_t(archive_entry_perm(entry)) & 0o7777,
            size: archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : nil,
            modificationTime: archive_entry_mtime_is_set(entry) != 0
                ? timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry)) : nil)
    }

    /// Hands the current member's data to `body` in the blocks libarchive decoded, each with its offset in the
    /// file (offsets jump over the holes of sparse files). No copy is made.
    func readData(_ body: (UnsafeRawBufferPointer, Int64) throws -> Void) throws {
        var block: UnsafeRawPointer?
        var length = 0
        var offset: Int64 = 0
        while true {
            let status = archive_read_data_block(archive, &block, &length, &offset)
            if status == ARCHIVE_EOF { return }
            guard status >= ARCHIVE_WARN else {
                throw UdockerError(.io, "cannot read data from \(source)", cause: LibarchiveMessage(archive))
            }
            if let block, length > 0 { try body(UnsafeRawBufferPointer(start: block, count: length), offset) }
        }
    }

    /// Writes the current member's data into `fd` at the offsets the archive gives, leaving holes as holes,
    /// and sizes the file to `size`. Returns nothing; a short write is an error.
    func writeData(to fd: Int32, size: Int64?) throws {
        var end: Int64 = 0
        try readData { block, offset in
            var done = 0
            while done < block.count {
                let n = pwrite(fd, block.baseAddress! + done, block.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw UdockerError.posix("cannot write", "extracted file")
                }
                done += n
            }
            end = max(end, offset + Int64(block.count))
        }
        // A sparse file may end in a hole: the declared size is authoritative.
        if let size, size > end, ftruncate(fd, off_t(size)) != 0 {
            throw UdockerError.posix("cannot size", "extracted file")
        }
    }

    private static func copy(_ text: UnsafePointer<CChar>) -> [CChar] {
        Array(UnsafeBufferPointer(start: text, count: strlen(text) + 1))
    }
}

/// libarchive's error text for the last failure on an archive handle, as an Error for `UdockerError.cause`.
struct LibarchiveMessage: Error, CustomStringConvertible {
    let description: String
    init(_ archive: OpaquePointer) {
        description = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
