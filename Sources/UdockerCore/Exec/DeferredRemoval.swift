import Foundation

/// Removes a directory once nobody uses it any more: "using" is holding a shared lock on `lock` (ranks hold it
/// across exec until their command exits). A detached process waits for the exclusive lock, then renames the
/// directory away (nothing half-removed keeps its name) and removes it. One waiter per lock is enough: it
/// holds `<lock>.reaper` while it waits, and later requests see that and start none.
enum DeferredRemoval {
    static func start(directory: String, lock: String) throws {
        guard !isWaiting(lock) else { return }
        try DetachedProcess.start {
            let waiter = open(lock + ".reaper", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard waiter >= 0, flock(waiter, LOCK_EX | LOCK_NB) == 0 else { _exit(0) }
            let fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { _exit(1) }
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
            let doomed = Paths.dirname(directory) + "/.rm-" + Paths.basename(directory) + "-\(getpid())"
            guard rename(directory, doomed) == 0 else { _exit(1) }
            _exit((try? FileSystem.removeTree(doomed)) == nil ? 1 : 0)
        }
    }

    private static func isWaiting(_ lock: String) -> Bool {
        let fd = open(lock + ".reaper", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) != 0
    }
}
