import Foundation

/// A blob being downloaded into its partial file (`Repository.ingestPath`), hashed as it streams in. A partial
/// file left by an earlier, interrupted pull is resumed: its bytes are hashed again and the registry is asked for
/// the rest with a Range request. Only a file whose sha256 matches is renamed into `layers/`.
///
/// The partial file is flock()ed while open, so two udocker processes (ranks of one job) never write the same one.
final class BlobFile: ResponseBodySink {
    let digest: String
    let expectedSize: Int64?
    private let partialPath: String
    private let finalPath: String
    private let fd: Int32
    private var hasher: SHA256Hasher
    /// Bytes in the partial file, all of them hashed.
    private(set) var size: Int64 = 0
    /// Where this pull's own transfer started (for the transfer rate).
    private(set) var resumedAt: Int64 = 0

    enum Opening { case ready(BlobFile), stored, busy }

    /// Opens (creating) and locks the partial file for `digest`. `.busy` when another process holds it and
    /// `wait` is false; `.stored` when the blob is in `layers/` already (another process finished it).
    static func open(digest: String, expectedSize: Int64?, repository: Repository, wait: Bool) throws -> Opening {
        let hasher = try SHA256Hasher()
        let partial = repository.ingestPath(digest), final = repository.layerPath(digest)
        let fd = Glibc.open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw UdockerError.posix("cannot create", partial) }
        while flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let busy = errno == EWOULDBLOCK
            let error = UdockerError.posix("cannot lock", partial)
            close(fd)
            if busy { return .busy }
            throw error
        }
        if FileSystem.isFile(final) && (expectedSize == nil || FileSystem.size(final) == expectedSize) {
            // Whoever held the lock renamed its file into layers/; what is at the partial path now is ours and empty.
            close(fd)
            try? FileSystem.removeFile(partial)
            return .stored
        }
        let blob = BlobFile(digest: digest, expectedSize: expectedSize, partial: partial, final: final, fd: fd, hasher: hasher)
        try blob.hashExistingBytes()
        return .ready(blob)
    }

    private init(digest: String, expectedSize: Int64?, partial: String, final: String, fd: Int32, hasher: SHA256Hasher) {
        self.hasher = hasher
        self.digest = digest
        self.expectedSize = expectedSize
        partialPath = partial
        finalPath = final
        self.fd = fd
    }

    deinit { close(fd) }

    /// Where the next request starts.
    var resumeOffset: Int64 { size }

    private func hashExistingBytes() throws {
        var stat = stat()
        guard fstat(fd, &stat) == 0 else { throw UdockerError.posix("cannot stat", partialPath) }
        // A partial file as long as the blob (or longer) was never verified: start again rather than ask for
        // an empty range.
        if let expectedSize, Int64(stat.st_size) >= expectedSize { try reset(); return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(size))
            if n < 0 { if errno == EINTR { continue }; throw UdockerError.posix("cannot read", partialPath) }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            size += Int64(n)
        }
        resumedAt = size
    }

    private func reset() throws {
        guard ftruncate(fd, 0) == 0 else { throw UdockerError.posix("cannot truncate", partialPath) }
        hasher = try SHA256Hasher()
        size = 0
        resumedAt = 0
    }

    // MARK: ResponseBodySink

    func begin(status: Int, headers: HTTPHeaders) throws -> Bool {
        switch status {
        case 206:
            // `Content-Range: bytes START-END/TOTAL` must continue exactly where the partial file ends.
            let range = headers["Content-Range"] ?? ""
            let start = range.split(separator: " ").last?.split(separator: "-").first.flatMap { Int64($0) }
            guard start == size else {
                throw UdockerError(.registry, "blob \(digest): asked for bytes from \(size), got \"\(range)\"")
            }
            return true
        case 200:
            if size > 0 {
                Log.debug("\(digest): the registry sent the whole blob instead of a range")
                try reset()
            }
            return true
        default:
            return false
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let expectedSize, size + Int64(bytes.count) > expectedSize {
            try? FileSystem.removeFile(partialPath)
            throw UdockerError(.digestMismatch, "blob \(digest) is larger than the \(expectedSize) bytes its manifest says")
        }
        var offset = 0
        while offset < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + offset, bytes.count - offset, off_t(size) + off_t(offset))
            if n < 0 { if errno == EINTR { continue }; throw UdockerError.posix("cannot write", partialPath) }
            offset += n
        }
        hasher.update(bytes)
        size += Int64(bytes.count)
    }

    /// Checks the digest of everything received and renames the file into `layers/` (over a damaged copy, if one
    /// was there). A mismatch removes the partial file: its content is wrong and must not be resumed.
    func commit() throws {
        let actual = hasher.finalize()
        guard actual == digest else {
            try? FileSystem.removeFile(partialPath)
            throw UdockerError(.digestMismatch, "blob \(digest) arrived with digest \(actual): the registry's copy is corrupt")
        }
        if let expectedSize, size != expectedSize {
            try? FileSystem.removeFile(partialPath)
            throw UdockerError(.digestMismatch, "blob \(digest) has \(size) bytes, its manifest says \(expectedSize)")
        }
        // No fsync: blobs are a verified cache that can be fetched again, and waiting for the disk here costs a third
        // of a pull. What a crash can leave is a short file, which the next pull sees by its size and replaces.
        guard rename(partialPath, finalPath) == 0 else { throw UdockerError.posix("cannot store blob", finalPath) }
    }
}
