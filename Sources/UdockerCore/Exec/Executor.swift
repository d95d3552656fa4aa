import Foundation

/// The only place that replaces the process. Carries out a plan's preparation, then execve()s the engine, so
/// the container command inherits our pid, stdin/stdout/stderr, every other open descriptor (PMI_FD) and
/// signal disposition, and its exit status becomes ours.
public enum Executor {
    public static func prepare(_ plan: ExecPlan) throws {
        for step in plan.preparation {
            switch step {
            case .makeDirectory(let path):
                try FileSystem.makeDirectories(path)
            case .writeFile(let path, let contents, let mode):
                if (try? FileSystem.readString(path)) != contents {
                    try FileSystem.atomicWrite(contents, to: path, mode: mode_t(mode))
                }
            case .symlink(let target, let path, let replaceLink):
                if FileSystem.kind(path) == .missing {
                    try FileSystem.makeDirectories(Paths.dirname(path))
                    guard symlink(target, path) == 0 || errno == EEXIST else { throw UdockerError.posix("cannot create link", path) }
                } else if replaceLink, FileSystem.isSymlink(path), FileSystem.readLink(path) != target {
                    // A new link renamed over the old one: a rank starting at the same time sees one or the other.
                    let temporary = path + ".new-\(getpid())"
                    unlink(temporary)
                    guard symlink(target, temporary) == 0, rename(temporary, path) == 0 else {
                        let error = UdockerError.posix("cannot replace link", path)
                        unlink(temporary)
                        throw error
                    }
                } else if FileSystem.readLink(path) != target {
                    throw UdockerError(.unsupported, "cannot bind \(target) at \(path): the container has a file there "
                                       + "(this mode binds a volume only at its own path or where the container has nothing)")
                }
            case .volumeLinks(let links):
                try links.apply()
            case .cpuAffinity(let cpus):
                guard LinuxCalls.setAffinity(cpus) == 0 else {
                    throw UdockerError.posix("cannot set --cpuset-cpus", cpus.map(String.init).joined(separator: ","))
                }
            case .holdSharedLock(let path):
                // The launcher took the hold before it trusted the stage: the command inherits that one.
                if StageHold.passToCommand(path) { continue }
                let fd = open(path, O_RDWR | O_CREAT, 0o600)   // no O_CLOEXEC: the command inherits it
                guard fd >= 0 else { throw UdockerError.posix("cannot open", path) }
                while flock(fd, LOCK_SH) != 0 {
                    guard errno == EINTR else { throw UdockerError.posix("cannot lock", path) }
                }
            case .removeWhenUnlocked(let directory, let lock):
                try DeferredRemoval.start(directory: directory, lock: lock)
            }
        }
    }

    /// Does not return on success.
    public static func exec(_ plan: ExecPlan) throws -> Never {
        try prepare(plan)
        if let isolation = plan.isolation {
            if let sharing = isolation.sharing { try SharedNamespace.join(isolation, sharing) } else { try UserNamespace.enter(isolation) }
        }
        if let dir = plan.hostWorkingDirectory, chdir(dir) != 0 { throw UdockerError.posix("cannot change directory to", dir) }
        fflush(nil)
        let argv = plan.arguments.map { strdup($0) } + [nil]
        let envp = plan.environment.map { strdup($0) } + [nil]
        execve(plan.executable, argv, envp)
        let code = errno
        throw UdockerError.posix("cannot execute", plan.executable, errno: code)
    }
}
