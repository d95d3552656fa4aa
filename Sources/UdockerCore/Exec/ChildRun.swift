import Foundation

nonisolated(unsafe) private var forwardedChild: pid_t = 0

/// Runs a plan as a child and waits, for the cases where udocker must act after the container ends
/// (`run --rm`, the probes of `setup --execmode=auto`). Descriptors are inherited; SIGINT/SIGQUIT reach the
/// child through the terminal's process group, SIGTERM/SIGHUP/SIGUSR1/SIGUSR2 are forwarded to it. Returns
/// the exit status as a shell reports it (128+N when killed by signal N).
public enum ChildRun {
    /// `silent` sends the child's stdin, stdout and stderr to /dev/null (probes).
    public static func run(_ plan: ExecPlan, silent: Bool = false) throws -> Int32 {
        fflush(nil)
        let pid: pid_t
        if plan.isolation != nil {
            // The namespace set-up happens in the child, which then execs like `run` does.
            pid = fork()
            guard pid >= 0 else { throw UdockerError.posix("cannot fork for", plan.executable) }
            if pid == 0 {
                if silent { redirectToNull() }
                do { try Executor.exec(plan) } catch { Output.stderr("Error: \(error)\n") }
                _exit(127)
            }
        } else {
            try Executor.prepare(plan)
            pid = try spawn(plan, silent: silent)
        }

        forwardedChild = pid
        let forwarded = [SIGTERM, SIGHUP, SIGUSR1, SIGUSR2]
        for sig in forwarded { signal(sig) { kill(forwardedChild, $0) } }
        let previousInt = signal(SIGINT, SIG_IGN), previousQuit = signal(SIGQUIT, SIG_IGN)
        defer {
            for sig in forwarded { signal(sig, SIG_DFL) }
            signal(SIGINT, previousInt); signal(SIGQUIT, previousQuit)
        }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw UdockerError.posix("cannot wait for", plan.executable) }
        }
        let signalNumber = status & 0x7f
        return signalNumber == 0 ? (status >> 8) & 0xff : 128 + signalNumber
    }

    private static func spawn(_ plan: ExecPlan, silent: Bool) throws -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        if silent {
            posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&fileActions, 2, "/dev/null", O_WRONLY, 0)
        }
        if let dir = plan.hostWorkingDirectory, !LinuxCalls.spawnAddChdir(&fileActions, dir) {
            throw UdockerError(.internalError, "cannot set the working directory of a child process")
        }
        let argv = plan.arguments.map { strdup($0) } + [nil]
        let envp = plan.environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, plan.executable, &fileActions, nil, argv, envp)
        guard rc == 0 else { throw UdockerError.posix("cannot execute", plan.executable, errno: rc) }
        return pid
    }

    private static func redirectToNull() {
        let null = open("/dev/null", O_RDWR)
        if null >= 0 { dup2(null, 0); dup2(null, 1); dup2(null, 2); if null > 2 { close(null) } }
    }
}
