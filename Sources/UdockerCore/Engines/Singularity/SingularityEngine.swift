/// S1: the site's apptainer (or singularity) runs the container directory with `exec`. The command runs as
/// the invoking user; the environment is handed over as APPTAINERENV_/SINGULARITYENV_ variables with
/// --cleanenv, so the host's does not leak in.
public struct SingularityEngine: Engine {
    public var executable: String
    public var debug: Bool

    public init(executable: String, debug: Bool = false) { self.executable = executable; self.debug = debug }

    public func plan(_ run: ContainerRun) throws -> ExecPlan {
        var preparation: [PreparationStep] = ["/tmp", "/var/tmp", "/proc", "/dev", "/sys", "/root"].map { .makeDirectory(path: run.root + $0) }
        var binds = run.binds.filter { !["/dev", "/proc", "/sys"].contains($0.containerPath) }
        if let accounts = run.accounts {
            preparation += AccountBinding.steps(accounts, containerDir: run.containerDir)
            binds += AccountBinding.binds(containerDir: run.containerDir)
        }
        if let cpus = run.options.cpuSet { preparation.append(.cpuAffinity(try CPUSet.parse(cpus))) }
        var argv = [executable]
        if debug { argv += ["--debug"] } else { argv += ["--silent"] }
        argv += ["exec", "--cleanenv", "--pwd", run.workingDirectory]
        for bind in binds { argv += ["-B", "\(bind.hostPath):\(bind.containerPath)" + (bind.readOnly ? ":ro" : "")] }
        if !run.isBound(containerPath: "/tmp") { argv += ["-B", run.root + "/tmp:/tmp"] }
        if !run.isBound(containerPath: "/var/tmp") { argv += ["-B", run.root + "/var/tmp:/var/tmp"] }
        argv += ["--home", run.user.home == "/" ? run.root + "/root:/root" : "\(run.root)\(run.user.home):\(run.user.home)"]
        argv.append(run.root)
        argv += run.command
        var env = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]
        for entry in run.environment { env += ["APPTAINERENV_" + entry, "SINGULARITYENV_" + entry] }
        return ExecPlan(executable: executable, arguments: argv, environment: env, preparation: preparation)
    }
}
