/// P1 / P2: the container runs under proot (ptrace). P2 sets PROOT_NO_SECCOMP=1; Debian's proot 5.1 ships with
/// its seccomp acceleration disabled, so there P1 behaves like P2.
public struct ProotEngine: Engine {
    /// Absolute path of the proot executable to use.
    public var proot: String
    /// Host environment entries proot itself needs (PROOT_TMP_DIR, …); the container's come from the run.
    public var hostEnvironment: [String]
    public var debug: Bool

    public init(proot: String, hostEnvironment: [String] = [], debug: Bool = false) {
        self.proot = proot
        self.hostEnvironment = hostEnvironment
        self.debug = debug
    }

    public func plan(_ run: ContainerRun) throws -> ExecPlan {
        var env = EnvironmentList(hostEnvironment)
        for entry in run.environment { env.set(entry) }
        if run.mode == .P2 { env.set("PROOT_NO_SECCOMP", "1") }

        var argv = [proot]
        if debug { argv += ["-v", "9"] }
        // No --kill-on-exit: Debian's proot 5.1 rejects it (udocker 1.3 passes it only when `proot --help` lists it).
        for bind in run.binds { argv += ["-b", bind.hostPath + ":" + bind.containerPath] }
        // proot's -0 fakes root; -i keeps the given ids inside.
        argv += run.user.uid == 0 ? ["-0"] : ["-i", "\(run.user.uid):\(run.user.gid)"]
        if let kernel = run.options.kernel { argv += ["-k", kernel] }
        argv += ["-r", run.root, "-w", run.workingDirectory]
        argv += run.command
        return ExecPlan(executable: proot, arguments: argv, environment: env.entries)
    }
}
