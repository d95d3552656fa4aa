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
                try FileSystem.atomicWrite(contents, to: path, mode: mode_t(mode))
            }
        }
    }

    /// Does not return on success.
    public static func exec(_ plan: ExecPlan) throws -> Never {
        try prepare(plan)
        if let isolation = plan.isolation { try UserNamespace.enter(isolation) }
        if let dir = plan.hostWorkingDirectory, chdir(dir) != 0 { throw UdockerError.posix("cannot change directory to", dir) }
        fflush(nil)
        let argv = plan.arguments.map { strdup($0) } + [nil]
        let envp = plan.environment.map { strdup($0) } + [nil]
        execve(plan.executable, argv, envp)
        let code = errno
        throw UdockerError.posix("cannot execute", plan.executable, errno: code)
    }
}
