import Foundation

/// Staging a published container: its archive is streamed into the stage directory, one sequential read,
/// hashed on the way. The copy in node-local scratch that the job's `sbcast` made is read when there is one (the
/// shared file system is then not read at all), else the published archive. A digest that differs from the
/// manifest's fails the staging, and `NodeStage` removes what was extracted.
enum PublishedStaging {
    static func extract(_ published: PublishedContainer, archive: String, scratch: String, into directory: String) throws {
        let broadcast = scratch + "/" + Paths.basename(archive)
        let source = FileSystem.isFile(broadcast) ? broadcast : archive
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot read published archive", source) }
        defer { close(fd) }
        Log.verbose("staging \(published.name) from \(source)")
        let pump = try DigestingPump(from: fd)
        var extractionError: Error?
        do {
            try LayerExtractor.extractPlain(.descriptor(pump.output), into: directory)
        } catch {
            extractionError = error
        }
        let digest = try pump.finish()
        guard digest == published.archiveDigest else {
            throw UdockerError(.invalidInput, "published archive \(source) has digest \(digest), not the manifest's "
                               + "\(published.archiveDigest) (corrupted or replaced): refused")
        }
        if let extractionError { throw extractionError }
    }
}

/// Copies a descriptor into a pipe on a thread of its own, hashing every byte: the reader of `output` sees the
/// file's bytes, and `finish` says what their digest was once all were read.
private final class DigestingPump: @unchecked Sendable {
    let output: Int32
    private let input: Int32
    private let source: Int32
    private let done = DispatchSemaphore(value: 0)
    private var digest = ""
    private var failure: Int32 = 0
    private let hasher: SHA256Hasher

    init(from source: Int32) throws {
        hasher = try SHA256Hasher()
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw UdockerError.posix("cannot create a pipe", "") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        output = ends[0]; input = ends[1]; self.source = source
        Thread.detachNewThread { [self] in pump() }
    }

    private func pump() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate(); close(input); done.signal() }
        while true {
            let n = read(source, buffer.baseAddress, buffer.count)
            if n < 0 { if errno == EINTR { continue }; failure = errno; return }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            var offset = 0
            while offset < n {
                let written = write(input, buffer.baseAddress! + offset, n - offset)
                if written < 0 { if errno == EINTR { continue }; failure = errno; return }
                offset += written
            }
        }
        digest = hasher.finalize()
    }

    /// Reads what the extraction left in the pipe (the archive's trailing padding, or everything after a failure)
    /// so that the whole file is hashed, then returns the digest.
    func finish() throws -> String {
        var sink = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(output, &sink, sink.count)
            if n > 0 || (n < 0 && errno == EINTR) { continue }
            break
        }
        close(output)
        done.wait()
        guard failure == 0 else { errno = failure; throw UdockerError.posix("cannot read the published archive", "") }
        return digest
    }
}
