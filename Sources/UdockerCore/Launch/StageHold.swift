import Foundation
import Synchronization

/// A rank's shared hold on a finished stage: a shared flock on the stage's `.inuse`, taken before `stage.done`
/// is trusted and kept across exec, so the stage is not removed while the rank's command runs. Whoever removes
/// a stage (`--cleanup`'s reaper, `clean`) takes the lock exclusively and renames the stage away before letting
/// it go; a rank that opened `.inuse` just before that finds, once it holds the lock, that the file is no longer
/// the stage's, and stages anew.
public final class StageHold: @unchecked Sendable {
    let descriptor: Int32
    let path: String

    private init(descriptor: Int32, path: String) { self.descriptor = descriptor; self.path = path }

    /// The hold on `stage` when it is finished; nil when no finished stage has that name now.
    static func take(_ stage: StagedContainer) throws -> StageHold? {
        guard FileSystem.exists(stage.doneFile) else { return nil }
        // O_CREAT for a stage finished before stagers made `.inuse`: a removed stage's path no longer resolves.
        let fd = open(stage.inUseFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw UdockerError.posix("cannot open", stage.inUseFile)
        }
        guard lock(fd, LOCK_SH) else {
            let error = UdockerError.posix("cannot lock", stage.inUseFile)
            close(fd)
            throw error
        }
        guard isCurrent(fd, stage.inUseFile), FileSystem.exists(stage.doneFile) else {
            close(fd)
            return nil
        }
        return register(StageHold(descriptor: fd, path: stage.inUseFile))
    }

    /// The stager's hold on the stage it is building in `directory` (before the stage gets its name).
    static func create(in directory: String, finalPath: String) throws -> StageHold {
        let temporary = directory + "/.inuse"
        let fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UdockerError.posix("cannot create", temporary) }
        guard lock(fd, LOCK_SH) else {
            let error = UdockerError.posix("cannot lock", temporary)
            close(fd)
            throw error
        }
        return register(StageHold(descriptor: fd, path: finalPath))
    }

    /// Ends the hold (a rank that will not exec: `stage`, `--dry-run`, a failure before exec).
    func release() {
        Self.registry.withLock { $0[path] = nil }
        close(descriptor)
    }

    /// At exec: the command inherits the hold, which ends when the last process holding it exits. False when
    /// this process holds no hold on `path`.
    static func passToCommand(_ path: String) -> Bool {
        guard let hold = registry.withLock({ $0[path] }) else { return false }
        let flags = fcntl(hold.descriptor, F_GETFD)
        return flags >= 0 && fcntl(hold.descriptor, F_SETFD, flags & ~FD_CLOEXEC) == 0
    }

    /// Whether `fd` is still the file at `path` (not one renamed away, or replaced, since it was opened).
    static func isCurrent(_ fd: Int32, _ path: String) -> Bool {
        var held = stat(), named = stat()
        return fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_dev == named.st_dev && held.st_ino == named.st_ino
    }

    static func lock(_ fd: Int32, _ operation: Int32) -> Bool {
        while flock(fd, operation) != 0 {
            guard errno == EINTR else { return false }
        }
        return true
    }

    /// The holds of this process by path: they last until exec or exit (never closed behind the rank's back).
    private static let registry = Mutex<[String: StageHold]>([:])

    private static func register(_ hold: StageHold) -> StageHold {
        registry.withLock { $0[hold.path] = hold }
        return hold
    }
}
