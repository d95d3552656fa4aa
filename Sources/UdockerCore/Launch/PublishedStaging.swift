import Foundation

/// Staging a published container. Its source is the copy the job's broadcast step (`sbcast`) wrote into this
/// user's private directory on the node, `<scratch>/udocker-<uid>/broadcast/<archive name>` (the shared file
/// system is then not read at all), else the published archive. Nothing is extracted before the whole source was
/// read once and its digest found to be the manifest's: a broadcast copy that differs is passed over for the
/// published archive, a published archive that differs is refused. The extraction then reads the same open file
/// again, hashing it once more, so that a file changed in between fails the staging too (and `NodeStage`
/// removes what was extracted). What the archive may hold: `PublishedArchiveLayout`.
enum PublishedStaging {
    static func extract(_ published: PublishedContainer, archive: String, scratch: String, into directory: String,
                        probe: ProbeSelection? = nil) throws {
        let (fd, source) = try verifiedSource(published, archive: archive, scratch: scratch)
        defer { close(fd) }
        if published.isSquashfs { return try extractSquashfs(published, from: source, into: directory, probe: probe) }
        Log.verbose("staging \(published.name) from \(source)")
        let pump = try DigestingPump(from: fd)
        var extractionError: Error?
        do {
            try PublishedArchiveLayout.extract(.descriptor(pump.output), into: directory, probe: probe)
        } catch {
            extractionError = error
        }
        let digest = try pump.finish()
        guard digest == published.archiveDigest else {
            throw UdockerError(.invalidInput, "published archive \(source) changed while it was staged (digest \(digest), not the "
                               + "manifest's \(published.archiveDigest)): refused")
        }
        if let extractionError { throw extractionError }
    }

    /// A published SquashFS to mount (ImageMount): the broadcast copy or the published file, its digest the
    /// manifest's (read whole once).
    static func verifiedSquashfs(_ published: PublishedContainer, archive: String, scratch: String) throws -> String {
        let (fd, source) = try verifiedSource(published, archive: archive, scratch: scratch)
        close(fd)
        return source
    }

    /// A SquashFS's tree becomes ROOT (the extractor checks the digest once more as it opens the file), with
    /// the published metadata beside it; the mode is set up by the stager's `finish`.
    private static func extractSquashfs(_ published: PublishedContainer, from source: String, into directory: String,
                                        probe: ProbeSelection?) throws {
        try SquashExtractor.extract(source, expectedDigest: published.archiveDigest, into: directory + "/ROOT", probe: probe)
        try writeMetadata(published, into: directory)
    }

    /// What a stage of a published SquashFS holds beside ROOT, extracted or mounted (ImageMount): the image's
    /// name, the image config from the manifest as container.json, and the NVIDIA binding recorded on the node
    /// (its programs' machine read from ROOT, the host's when ROOT is a mount point still empty).
    static func writeMetadata(_ published: PublishedContainer, into directory: String) throws {
        try FileSystem.atomicWrite(published.image, to: directory + "/" + ContainerFile.imageRepoName.rawValue)
        if let config = published.config {
            try FileSystem.atomicWrite(config, to: directory + "/" + ContainerFile.containerJSON.rawValue)
        }
        if published.nvidia {
            try NvidiaBinding.record(containerDir: directory, root: directory + "/ROOT",
                                     roots: .host(environment: ProcessInfo.processInfo.environment))
        }
    }

    /// Where the broadcast step puts a copy of `archive` on each node (`udocker-launch broadcast-dir`).
    static func broadcastCopy(of archive: String, scratch: String) -> String {
        StageArea.broadcastDir(scratch: scratch) + "/" + Paths.basename(archive)
    }

    /// The broadcast copy or the published archive, open at its start, its digest the manifest's.
    private static func verifiedSource(_ published: PublishedContainer, archive: String, scratch: String) throws -> (Int32, String) {
        let copy = broadcastCopy(of: archive, scratch: scratch)
        let copyFD = open(copy, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if copyFD >= 0 {
            var st = stat()
            if fstat(copyFD, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid() {
                let digest = try Digest.sha256(descriptor: copyFD, path: copy)
                if digest == published.archiveDigest, lseek(copyFD, 0, SEEK_SET) == 0 { return (copyFD, copy) }
                Log.warning("broadcast copy \(copy) has digest \(digest), not the manifest's \(published.archiveDigest): "
                            + "staging from \(archive)")
            }
            close(copyFD)
        }
        let fd = open(archive, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot read published archive", archive) }
        do {
            try PublishedFileTrust.check(descriptor: fd, path: archive)
            let digest = try Digest.sha256(descriptor: fd, path: archive)
            guard digest == published.archiveDigest else {
                throw UdockerError(.invalidInput, "published archive \(archive) has digest \(digest), not the manifest's "
                                   + "\(published.archiveDigest) (corrupted or replaced): refused")
            }
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw UdockerError.posix("cannot read published archive", archive) }
        } catch {
            close(fd)
            throw error
        }
        return (fd, archive)
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
