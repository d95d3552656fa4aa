import Foundation

/// The lock one node's ranks take before staging a container: the first to get it stages, the others wait on
/// it (they never copy). A holder leaves a note naming itself, so a rank that waits too long can say whom it
/// waited for. The kernel drops the lock when its holder dies, even by SIGKILL.
public final class StageLock {
    private let fd: Int32
    private let notePath: String

    /// Waits up to `timeout` seconds; `holder` describes this process for the next waiter's error message.
    /// Only a holder writes or removes the note: a waiter that gives up leaves it (and its own descriptor is
    /// closed once, here), so the next waiter still learns whom it waits for.
    public init(path: String, timeout: Double, holder: String) throws {
        let notePath = path + ".owner"
        fd = try Self.acquire(path, timeout: timeout, notePath: notePath)
        self.notePath = notePath
        let since = ISO8601DateFormatter().string(from: Date())
        try? FileSystem.atomicWrite("\(holder) since \(since)\n", to: notePath, mode: 0o600)
    }

    /// The locked descriptor. Every failure closes what it opened before throwing.
    private static func acquire(_ path: String, timeout: Double, notePath: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UdockerError.posix("cannot open stage lock", path) }
        let deadline = Date().addingTimeInterval(timeout)
        var pause: useconds_t = 5_000
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let error = UdockerError.posix("cannot lock", path)
                close(fd)
                throw error
            }
            if Date() >= deadline {
                close(fd)
                let note = (try? FileSystem.readString(notePath))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "an unknown process"
                throw UdockerError(.engine, "gave up after \(Int(timeout)) s waiting for the stage lock \(path), held by \(note) "
                                   + "(raise --stage-timeout, or end that process)")
            }
            usleep(pause)
            pause = min(pause * 2, 100_000)
        }
        return fd
    }

    /// The note goes before the lock: once unlocked, the note there may be the next holder's.
    deinit {
        unlink(notePath)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
