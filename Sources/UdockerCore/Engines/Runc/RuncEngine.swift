import Foundation

/// R1–R3: a rootless OCI runtime (runc, or crun where the cgroup layout lets it run) started in the
/// foreground with no terminal, so the command's stdin, stdout, stderr and exit status pass straight through.
/// R2/R3 run the host's proot inside the container (with its loader and libraries bound under /.udocker) to
/// emulate any user; R3 turns proot's seccomp acceleration off.
public struct RuncEngine: Engine {
    public enum Runtime: String, Sendable { case runc, crun }

    public var runtime: String
    public var kind: Runtime
    /// Holds the runtime's state (state/) and the per-run bundle directories (bundles/).
    public var stateDir: String
    /// For R2/R3: the host's proot and what it needs to start.
    public var proot: String?
    public var prootLibraries: LibraryClosure?
    public var debug: Bool
    /// Makes the per-run bundle name unique (the pid of the udocker process that plans and then execs).
    public var runID: String

    public init(runtime: String, kind: Runtime, stateDir: String, proot: String? = nil, prootLibraries: LibraryClosure? = nil,
                debug: Bool = false, runID: String) {
        self.runtime = runtime; self.kind = kind; self.stateDir = stateDir; self.proot = proot
        self.prootLibraries = prootLibraries; self.debug = debug; self.runID = runID
    }

    public static let prootDir = "/.udocker"

    public func plan(_ run: ContainerRun) throws -> ExecPlan {
        var preparation: [PreparationStep] = []
        var mounts = RuncSpec.baseMounts
        // The spec provides /dev, /proc and /sys itself; other sysdirs and volumes become bind mounts.
        for bind in run.binds where !["/dev", "/proc", "/sys"].contains(bind.containerPath) {
            mounts.append(RuncSpec.bind(bind.hostPath, at: bind.containerPath, readOnly: bind.readOnly))
        }
        for device in run.options.devices {
            let parts = device.split(separator: ":").map(String.init)
            guard parts[0].hasPrefix("/dev/") else { throw UdockerError(.invalidInput, "invalid --device, not under /dev: \(device)") }
            mounts.append(RuncSpec.bind(parts[0], at: parts.count > 1 ? parts[1] : parts[0]))
        }
        if let accounts = run.accounts {
            preparation += AccountBinding.steps(accounts, containerDir: run.containerDir)
            mounts += AccountBinding.binds(containerDir: run.containerDir).map { RuncSpec.bind($0.hostPath, at: $0.containerPath) }
        }
        if let cpus = run.options.cpuSet { preparation.append(.cpuAffinity(try CPUSet.parse(cpus))) }

        var env = EnvironmentList(run.environment)
        var args = run.command
        var cwd = run.workingDirectory
        if run.mode == .R2 || run.mode == .R3 {
            guard let proot, let closure = prootLibraries else {
                throw UdockerError(.notFound, "proot executable not found: mode \(run.mode.rawValue) runs proot inside the container")
            }
            let dir = Self.prootDir
            mounts.append(RuncSpec.bind(proot, at: dir + "/bin/proot", readOnly: true))
            var start = [dir + "/bin/proot"]
            if !closure.loader.isEmpty {
                mounts.append(RuncSpec.bind(closure.loader, at: dir + "/lib/" + Paths.basename(closure.loader), readOnly: true))
                for library in closure.libraries {
                    mounts.append(RuncSpec.bind(library.path, at: dir + "/lib/" + library.name, readOnly: true))
                }
                start = [dir + "/lib/" + Paths.basename(closure.loader), "--library-path", dir + "/lib"] + start
            }
            env.set("PROOT_TMP_DIR", "/tmp")
            if run.mode == .R3 { env.set("PROOT_NO_SECCOMP", "1") }
            let identity = run.user.uid == 0 ? ["-0"] : ["-i", "\(run.user.uid):\(run.user.gid)"]
            args = start + identity + ["-w", cwd] + (run.options.kernel.map { ["-k", $0] } ?? []) + args
            cwd = "/"
        }

        let spec = RuncSpec(root: run.root, args: args, env: env.entries, cwd: cwd,
                            hostUID: run.hostUser.uid, hostGID: run.hostUser.gid, mounts: mounts, hooks: run.cdi?.runtimeHooks ?? [])
        let bundle = stateDir + "/bundles/" + bundleName(run)
        preparation += [.makeDirectory(path: bundle), .writeFile(path: bundle + "/config.json", contents: try spec.encoded(), mode: 0o600)]

        var argv = [runtime]
        // runc's warnings about the cgroups a rootless container cannot have would land on the command's stderr;
        // its fatal errors are printed to stderr regardless of --log.
        argv += debug ? ["--debug"] : ["--log", "/dev/null"]
        argv += ["--root", stateDir + "/state", "run", "--bundle", bundle]
        if run.inheritedDescriptors > 0 { argv += ["--preserve-fds", String(run.inheritedDescriptors)] }
        argv.append(bundleName(run))
        return ExecPlan(executable: runtime, arguments: argv, environment: Self.runtimeEnvironment, preparation: preparation)
    }

    /// Runtime state and bundles are per run: ranks of one job start the same container at the same time.
    func bundleName(_ run: ContainerRun) -> String { "udocker-\(run.id.prefix(8))-\(runID)" }

    /// The runtime itself needs nothing from the host environment; the container's comes from the spec.
    static let runtimeEnvironment = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]

    /// Removes bundles left by runs whose udocker process is gone (the runtime removes its own state).
    public static func pruneBundles(in stateDir: String) {
        for name in (try? FileSystem.list(stateDir + "/bundles")) ?? [] where name.hasPrefix("udocker-") {
            guard let pid = name.split(separator: "-").last.flatMap({ Int32($0) }), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileSystem.removeTree(stateDir + "/bundles/" + name)
        }
    }
}
