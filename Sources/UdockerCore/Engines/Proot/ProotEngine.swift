/// P1 / P2: the container runs under proot (ptrace). P2 sets PROOT_NO_SECCOMP=1; Debian's proot 5.1 ships with
/// its seccomp acceleration disabled, so there P1 behaves like P2.
public struct ProotEngine: Engine {
    /// Absolute path of the proot executable to use.
    public var proot: String
    /// Host environment entries proot itself needs (PROOT_TMP_DIR, …); the container's come from the run.
    public var hostEnvironment: [String]
    /// Whether this proot has udocker's -p/--port option (Debian's has not).
    public var canMapPorts: Bool
    /// Whether this proot has --kill-on-exit (Debian's has not; there proot waits for every traced process).
    public var killOnExit: Bool
    public var debug: Bool

    public init(proot: String, hostEnvironment: [String] = [], canMapPorts: Bool = false, killOnExit: Bool = false, debug: Bool = false) {
        self.proot = proot
        self.hostEnvironment = hostEnvironment
        self.canMapPorts = canMapPorts
        self.killOnExit = killOnExit
        self.debug = debug
    }

    public func plan(_ run: ContainerRun) throws -> ExecPlan {
        var env = EnvironmentList(hostEnvironment)
        for entry in run.environment { env.set(entry) }
        if run.mode == .P2 { env.set("PROOT_NO_SECCOMP", "1") }

        var preparation: [PreparationStep] = []
        var binds = run.binds.map { "\($0.hostPath):\($0.containerPath)" }
        if let accounts = run.accounts {
            preparation += AccountBinding.steps(accounts, containerDir: run.containerDir)
            binds += AccountBinding.binds(containerDir: run.containerDir).map { "\($0.hostPath):\($0.containerPath)" }
        }
        if let cpus = run.options.cpuSet { preparation.append(.cpuAffinity(try CPUSet.parse(cpus))) }

        var argv = [proot]
        if debug { argv += ["-v", "9"] }
        if killOnExit { argv.append("--kill-on-exit") }
        for bind in binds { argv += ["-b", bind] }
        // proot's -0 fakes root; -i gives the command these ids.
        argv += run.user.uid == 0 ? ["-0"] : ["-i", "\(run.user.uid):\(run.user.gid)"]
        if let kernel = run.options.kernel { argv += ["-k", kernel] }
        if canMapPorts {
            for port in run.options.ports { argv += ["-p", port] }
            if run.options.publishAll { argv.append("-n") }
        }
        argv += ["-r", run.root, "-w", run.workingDirectory]
        argv += run.command
        return ExecPlan(executable: proot, arguments: argv, environment: env.entries, preparation: preparation)
    }
}
