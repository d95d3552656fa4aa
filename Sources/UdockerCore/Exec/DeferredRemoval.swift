import Foundation

/// Removes a directory once nobody uses it any more: "using" is holding a shared lock on `lock` (ranks hold it
/// across exec until their command exits). A detached process waits for the exclusive lock, checks that the lock
/// is still the directory's own (`clean` may have removed it, and a new stage taken its name), renames the
/// directory away under the lock (nothing half-removed keeps its name, and no rank can take a hold in between)
/// and removes it. One waiter per lock is enough: it holds `<lock>.reaper` while it waits, and later requests
/// see that and start none.
enum DeferredRemoval {
    static func start(directory: String, lock: String) throws {
        guard !isWaiting(lock) else { return }
        // Opened here, while this rank's hold keeps the directory in place: the waiter locks this very file.
        let fd = open(lock, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot open", lock) }
        defer { close(fd) }
        try DetachedProcess.start(keeping: [fd]) {
            guard let waiter = (try? FileLock.attempt(lock + ".reaper")) ?? nil else { _exit(0) }
            guard StageHold.lock(fd, LOCK_EX) else { _exit(1) }
            guard StageHold.isCurrent(fd, lock) else { _exit(0) }
            let doomed = Paths.dirname(directory) + "/.rm-" + Paths.basename(directory) + "-\(getpid())"
            let renamed = rename(directory, doomed) == 0
            flock(fd, LOCK_UN)
            let removed = renamed && (try? FileSystem.removeTree(doomed)) != nil
            withExtendedLifetime(waiter) {}
            _exit(removed ? 0 : 1)
        }
    }

    private static func isWaiting(_ lock: String) -> Bool {
        ((try? FileLock.attempt(lock + ".reaper")) ?? nil) == nil
    }
}
