import Foundation

nonisolated(unsafe) private var forwardedChild: pid_t = 0

/// Runs a plan as a child and waits, for the cases where udocker must act after the container ends
/// (`run --rm`). Descriptors are inherited; SIGINT/SIGQUIT reach the child through the terminal's process
/// group, SIGTERM/SIGHUP/SIGUSR1/SIGUSR2 are forwarded to it. Returns the exit status as a shell reports it
/// (128+N when killed by signal N).
public enum ChildRun {
    public static func run(_ plan: ExecPlan) throws -> Int32 {
        guard plan.isolation == nil else { throw UdockerError(.unsupported, "an isolated plan must be run by exec") }
        try Executor.prepare(plan)
        fflush(nil)
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        // The child inherits our cwd: udocker has nothing left to do in its own after the spawn.
        if let dir = plan.hostWorkingDirectory, chdir(dir) != 0 { throw UdockerError.posix("cannot change directory to", dir) }
        let argv = plan.arguments.map { strdup($0) } + [nil]
        let envp = plan.environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, plan.executable, &fileActions, nil, argv, envp)
        guard rc == 0 else { throw UdockerError.posix("cannot execute", plan.executable, errno: rc) }

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
}
