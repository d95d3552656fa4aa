import Foundation

/// An advisory flock(2) on a file: held while one process changes an image tag or a container, so two
/// concurrent udocker invocations (e.g. many srun ranks on one node) do not interleave their writes.
public final class FileLock {
    private let fd: Int32

    public init(path: String) throws {
        try FileSystem.makeDirectories(Paths.dirname(path), mode: 0o700)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UdockerError.posix("cannot open lock", path) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let err = UdockerError.posix("cannot lock", path)
            close(fd)
            throw err
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Runs `body` while holding the lock at `path`.
    public static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let lock = try FileLock(path: path)
        defer { withExtendedLifetime(lock) {} }
        return try body()
    }
}
