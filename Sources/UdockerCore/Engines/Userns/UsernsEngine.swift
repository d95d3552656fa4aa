/// U1: udocker's own rootless engine, with no external tool. The exec path unshares a user and a mount
/// namespace, maps the invoking uid/gid to themselves (never 0→uid: that breaks Open MPI's PMIx wire-up),
/// binds the sysdirs and volumes into ROOT, changes root, drops the namespace's capabilities and execs the
/// command. The host's pid, network and IPC namespaces stay, so srun/PMIx work and start-up takes milliseconds.
public struct UsernsEngine: Engine {
    public init() {}

    public func plan(_ run: ContainerRun) throws -> ExecPlan {
        guard let executable = run.executable else { throw UdockerError(.internalError, "command not resolved") }
        var preparation: [PreparationStep] = []
        var binds = run.binds.map { Isolation.Bind(source: $0.hostPath, target: $0.containerPath, readOnly: $0.readOnly) }
        if let accounts = run.accounts {
            preparation += AccountBinding.steps(accounts, containerDir: run.containerDir)
            binds += AccountBinding.binds(containerDir: run.containerDir).map { Isolation.Bind(source: $0.hostPath, target: $0.containerPath) }
        }
        if let cpus = run.options.cpuSet { preparation.append(.cpuAffinity(try CPUSet.parse(cpus))) }
        let isolation = Isolation(root: run.root, binds: binds, workingDirectory: run.workingDirectory)
        // After the change of root the kernel resolves the path (and any #! line) inside the container.
        return ExecPlan(executable: executable.containerPath, arguments: run.command, environment: run.environment,
                        preparation: preparation, isolation: isolation)
    }
}
