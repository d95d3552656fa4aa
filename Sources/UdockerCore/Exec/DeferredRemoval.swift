import Foundation

/// Removes a directory once nobody uses it any more: "using" is holding a shared lock on `lock` (ranks hold it
/// across exec until their command exits). A detached process waits for the exclusive lock, then renames the
/// directory away (nothing half-removed keeps its name) and removes it. One waiter per lock is enough: it
/// holds `<lock>.reaper` while it waits, and later requests see that and start none.
enum DeferredRemoval {
    static func start(directory: String, lock: String) throws {
        guard !isWaiting(lock) else { return }
        try DetachedProcess.start {
            guard let waiter = (try? FileLock.attempt(lock + ".reaper")) ?? nil else { _exit(0) }
            guard let unused = try? FileLock(path: lock) else { _exit(1) }
            let doomed = Paths.dirname(directory) + "/.rm-" + Paths.basename(directory) + "-\(getpid())"
            let removed = rename(directory, doomed) == 0 && (try? FileSystem.removeTree(doomed)) != nil
            withExtendedLifetime((waiter, unused)) {}
            _exit(removed ? 0 : 1)
        }
    }

    private static func isWaiting(_ lock: String) -> Bool {
        ((try? FileLock.attempt(lock + ".reaper")) ?? nil) == nil
    }
}
