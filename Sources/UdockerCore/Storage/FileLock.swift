import Foundation

/// An advisory flock(2) on a file: held while one process changes an image tag or a container, so two
/// concurrent udocker invocations (e.g. many srun ranks on one node) do not interleave their writes.
/// A shared lock admits other shared holders and keeps out an exclusive one. The kernel drops the lock when its
/// holder dies, however it dies. Two locks on one file in one process are two holders: they can block each other.
public final class FileLock {
    private let fd: Int32

    public init(path: String, shared: Bool = false) throws {
        guard let lock = try Self.lock(path, shared: shared, wait: true) else {
            throw UdockerError(.internalError, "cannot lock \(path)")
        }
        fd = lock
    }

    private init(descriptor: Int32) { fd = descriptor }

    /// An exclusive lock when nobody holds one (shared or not) right now; nil otherwise.
    public static func attempt(_ path: String) throws -> FileLock? {
        try lock(path, shared: false, wait: false).map(FileLock.init(descriptor:))
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Runs `body` while holding the lock at `path`.
    public static func withLock<T>(_ path: String, shared: Bool = false, _ body: () throws -> T) throws -> T {
        let lock = try FileLock(path: path, shared: shared)
        defer { withExtendedLifetime(lock) {} }
        return try body()
    }

    /// The locked descriptor, or nil when `wait` is false and someone else holds a conflicting lock.
    private static func lock(_ path: String, shared: Bool, wait: Bool) throws -> Int32? {
        try FileSystem.makeDirectories(Paths.dirname(path), mode: 0o700)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UdockerError.posix("cannot open lock", path) }
        while flock(fd, (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            let busy = errno == EWOULDBLOCK
            let error = UdockerError.posix("cannot lock", path)
            close(fd)
            if busy && !wait { return nil }
            throw error
        }
        return fd
    }
}
