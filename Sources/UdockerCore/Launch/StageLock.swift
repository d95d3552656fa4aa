import Foundation

/// The lock one node's ranks take before staging a container: the first to get it stages, the others wait on
/// it (they never copy). A holder leaves a note naming itself, so a rank that waits too long can say whom it
/// waited for. The kernel drops the lock when its holder dies, even by SIGKILL.
public final class StageLock {
    private let fd: Int32
    private let notePath: String

    /// Waits up to `timeout` seconds; `holder` describes this process for the next waiter's error message.
    public init(path: String, timeout: Double, holder: String) throws {
        notePath = path + ".owner"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
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
                let note = (try? FileSystem.readString(notePath))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "an unknown process"
                close(fd)
                throw UdockerError(.engine, "gave up after \(Int(timeout)) s waiting for the stage lock \(path), held by \(note) "
                                   + "(raise --stage-timeout, or end that process)")
            }
            usleep(pause)
            pause = min(pause * 2, 100_000)
        }
        let since = ISO8601DateFormatter().string(from: Date())
        try? FileSystem.atomicWrite("\(holder) since \(since)\n", to: notePath, mode: 0o600)
    }

    deinit {
        unlink(notePath)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
