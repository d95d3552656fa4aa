import CArchive
import Foundation

/// What `load`, `import`, `save` and `verify` need to know of a layer: the sha256 of the file as stored (its name
/// in layers/) and of its uncompressed tar (the diff_id an image configuration lists).
public struct LayerDigests: Sendable, Equatable {
    public let digest: String
    public let diffID: String
}

/// Facts about a layer file, read without extracting it.
public enum ArchiveInspector {
    /// Reads the layer at `path` once: the file is hashed as it is read, decompressed (gzip, zstd, xz, bzip2 or
    /// none), the uncompressed stream hashed in turn and walked as a tar archive to its end-of-archive marker.
    /// A file cut short — in a member's data, or between members where the marker should be — is refused, as
    /// is anything that is not a tar archive. When the file should have the digest `expected`, a file that has
    /// another is reported as such rather than for what is wrong inside it. Errors call the file `name` (default:
    /// its file name).
    public static func inspectLayer(_ path: String, named name: String? = nil, expected: String? = nil) throws -> LayerDigests {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot read", path) }
        defer { close(fd) }
        let name = name ?? Paths.basename(path)
        let file = try HashedStream { buffer in
            while true {
                let n = read(fd, buffer.baseAddress, buffer.count)
                if n >= 0 { return UnsafeRawBufferPointer(rebasing: buffer[0..<n]) }
                if errno != EINTR { throw UdockerError.posix("cannot read", path) }
            }
        }
        let uncompressed: HashedStream
        do {
            let decompressor = try LibarchiveReader(rawFrom: file, name: name)
            uncompressed = try HashedStream { _ in try decompressor.nextBlock() }
            let tar = try LibarchiveReader(tarFrom: uncompressed, name: name)
            let end = try tar.skipToEnd()
            try uncompressed.drain()
            // libarchive also ends quietly where a member ends and the file does: only what follows the last
            // member (the zero blocks of the marker) tells a whole archive from one cut there.
            guard uncompressed.count > end else {
                throw UdockerError(.invalidInput, "\(name) is truncated: it ends without a tar end-of-archive marker")
            }
            try file.drain()
        } catch {
            if let expected, (try? file.drain()) != nil {
                let digest = file.hasher.finalize()
                if digest != expected { throw UdockerError(.digestMismatch, "\(name) has digest \(digest), expected \(expected)") }
            }
            throw error
        }
        let digests = LayerDigests(digest: file.hasher.finalize(), diffID: uncompressed.hasher.finalize())
        if let expected, digests.digest != expected {
            throw UdockerError(.digestMismatch, "\(name) has digest \(digests.digest), expected \(expected)")
        }
        return digests
    }
}

/// Blocks handed to libarchive through its read callback, hashed and counted on the way. `produce` fills or
/// points into the buffer it is given; an empty block is the end.
private final class HashedStream {
    let hasher: SHA256Hasher
    private(set) var count: Int64 = 0
    /// Why the last block could not be produced (libarchive only learns that something failed).
    private(set) var failure: Error?
    private let produce: (UnsafeMutableRawBufferPointer) throws -> UnsafeRawBufferPointer
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ArchiveReader.blockSize, alignment: 16)
    private var ended = false

    init(_ produce: @escaping (UnsafeMutableRawBufferPointer) throws -> UnsafeRawBufferPointer) throws {
        hasher = try SHA256Hasher()
        self.produce = produce
    }
    deinit { buffer.deallocate() }

    func next() throws -> UnsafeRawBufferPointer {
        if ended { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let block = try produce(buffer)
        hasher.update(block)
        count += Int64(block.count)
        ended = block.isEmpty
        return block
    }

    /// Reads and hashes what nobody asked for: what follows the tar's end marker, or the compressed stream's end.
    func drain() throws {
        while try !next().isEmpty {}
    }

    /// libarchive's read callback, over a `HashedStream` passed as the client data.
    static func fill(_ client: UnsafeMutableRawPointer?, _ output: UnsafeMutablePointer<UnsafeRawPointer?>?) -> la_ssize_t {
        let stream = Unmanaged<HashedStream>.fromOpaque(client!).takeUnretainedValue()
        do {
            let block = try stream.next()
            output?.pointee = block.baseAddress
            return la_ssize_t(block.count)
        } catch {
            stream.failure = error
            return -1
        }
    }
}

/// A libarchive read handle fed by a `HashedStream`: a decompressor presenting the whole stream as one member
/// (the raw format), or a tar reader.
private final class LibarchiveReader {
    private let archive: OpaquePointer
    private let source: HashedStream
    private let name: String
    private var startedData = false

    init(rawFrom source: HashedStream, name: String) throws {
        try ArchiveRuntime.load()
        (archive, self.source, self.name) = (archive_read_new()!, source, name)
        archive_read_support_filter_all(archive)
        archive_read_support_format_raw(archive)
        try open()
    }

    init(tarFrom source: HashedStream, name: String) throws {
        try ArchiveRuntime.load()
        (archive, self.source, self.name) = (archive_read_new()!, source, name)
        archive_read_support_format_tar(archive)
        try open()
    }

    deinit { archive_read_free(archive) }

    private func open() throws {
        let client = Unmanaged.passUnretained(source).toOpaque()
        let status = archive_read_open(archive, client, nil, { _, client, output in HashedStream.fill(client, output) }, nil)
        guard status == ARCHIVE_OK else { throw failure() }
    }

    /// The error to report: the stream's own when it failed under libarchive, else libarchive's.
    private func failure(_ what: String = "is truncated or damaged") -> UdockerError {
        if let error = source.failure as? UdockerError { return error }
        if archive_errno(archive) == EILSEQ && archive_file_count(archive) == 0 {
            return UdockerError(.invalidInput, "\(name) is not a tar archive", cause: LibarchiveMessage(archive))
        }
        return UdockerError(.invalidInput, "\(name) \(what)", cause: LibarchiveMessage(archive))
    }

    /// Raw format: the next block of the decompressed stream, empty at its end.
    func nextBlock() throws -> UnsafeRawBufferPointer {
        if !startedData {
            startedData = true
            var entry: OpaquePointer?
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { return UnsafeRawBufferPointer(start: nil, count: 0) }
            guard status >= ARCHIVE_WARN else { throw failure() }
        }
        var block: UnsafeRawPointer?
        var length = 0
        var offset: la_int64_t = 0
        let status = archive_read_data_block(archive, &block, &length, &offset)
        if status == ARCHIVE_EOF { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard status >= ARCHIVE_WARN else { throw failure() }
        return UnsafeRawBufferPointer(start: block, count: length)
    }

    /// Tar: reads every member header, skipping the data, to the end of the archive. Returns where in the stream
    /// the end was found (after the last member and its padding).
    func skipToEnd() throws -> Int64 {
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { return archive_read_header_position(archive) }
            guard status >= ARCHIVE_WARN else { throw failure() }
        }
    }
}
