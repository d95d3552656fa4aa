import Foundation

/// Turns (container, run options, image metadata, invoking user, mode) into the `ContainerRun` engines consume.
/// This is the single place run options meet image metadata. Follows udocker 1.3: the image's
/// Entrypoint/Cmd/Env/WorkingDir/User unless --nometa, udocker's container_* variables, sysdirs bound unless
/// --nosysdirs, the working directory defaulting to the user's home, passwd/group holding the user.
public struct RunPreparation: Sendable {
    /// Where the root file system comes from: a stored container, or a directory given with --location.
    public enum Source: Sendable {
        case container(id: String)
        case location(root: String, stateDir: String)
        /// A container staged by the launcher: a directory shaped like a container's (ROOT, container.json).
        /// `root`, when given, is where its tree is read instead of ROOT (a mounted image, as its keeper serves it).
        case stage(directory: String, root: String? = nil)

        public var isStage: Bool { if case .stage = self { return true } else { return false } }
    }

    public var store: ContainerStore
    public var hostUser: HostUser
    public var hostEnvironment: [String: String]
    public var sysDirs: [String]
    /// Host directories --dri binds when they exist (udocker's dri_list).
    public var driDirs: [String]
    public var inheritedDescriptors: Int
    /// Where the NVIDIA driver is looked for (nil: the host's, per `hostEnvironment`).
    public var nvidiaRoots: NvidiaHostRoots?

    public init(store: ContainerStore, hostUser: HostUser = .current(),
                hostEnvironment: [String: String] = ProcessInfo.processInfo.environment, sysDirs: [String],
                driDirs: [String] = RunPreparation.defaultDriDirs, inheritedDescriptors: Int = 0,
                nvidiaRoots: NvidiaHostRoots? = nil) {
        self.store = store
        self.hostUser = hostUser
        self.hostEnvironment = hostEnvironment
        self.sysDirs = sysDirs
        self.driDirs = driDirs
        self.inheritedDescriptors = inheritedDescriptors
        self.nvidiaRoots = nvidiaRoots
    }

    public static let defaultDriDirs = ["/usr/lib64/dri", "/lib64/dri", "/usr/lib/dri", "/lib/dri",
                                        "/usr/lib/x86_64-linux-gnu/dri", "/dev/dri"]

    public func prepare(id: String, mode: ExecMode, options: RunOptions) throws -> ContainerRun {
        try prepare(.container(id: id), mode: mode, options: options)
    }

    public func prepare(_ source: Source, mode: ExecMode, options: RunOptions) throws -> ContainerRun {
        let repository = store.repository
        let id: String, root: String, containerDir: String, names: [String], image: ImageConfig
        switch source {
        case .container(let containerID):
            id = containerID
            root = Self.realPath(repository.containerRoot(containerID))
            containerDir = repository.containerDir(containerID)
            names = try store.names(of: containerID)
            image = options.noMeta ? ImageConfig() : try store.imageConfig(containerID)
        case .location(let location, let stateDir):
            guard FileSystem.isDirectoryFollowingLinks(location) else {
                throw UdockerError(.notFound, "invalid --location, not a directory: \(location)")
            }
            id = "location"
            root = Self.realPath(location)
            containerDir = stateDir
            names = []
            image = ImageConfig()
        case .stage(let directory, let served):
            id = Paths.basename(directory)
            root = served ?? Self.realPath(directory + "/ROOT")
            containerDir = directory
            names = []
            let config = directory + "/" + ContainerFile.containerJSON.rawValue
            image = options.noMeta || !FileSystem.exists(config) ? ImageConfig() : try ImageConfig(json: FileSystem.read(config))
        }

        let user = try resolveUser(mode: mode, explicit: options.user,
                                   fromImage: image.user.isEmpty ? nil : image.user, root: root)
        var binds = try bindings(options)
        let (cdi, nvidiaByCDI) = try cdiApplication(options, mode: mode, containerDir: containerDir, root: root, binds: binds)
        let nvidia = nvidiaByCDI ? nil : try nvidiaBinding(options, mode: mode, containerDir: containerDir, root: root, binds: binds)
        binds += nvidia?.binds.filter { bind in !binds.contains { $0.containerPath == bind.containerPath } } ?? []
        if let cdi { binds = cdi.apply(to: binds) }
        // Under a process manager the command joins its job (never an MPI singleton) unless --mpi=none.
        let mpiMode = options.mpi ?? (ProcessManagerPassthrough.isPresent(hostEnvironment) ? .container : .none)
        if mpiMode != .none { binds += ProcessManagerPassthrough.volumes(hostEnvironment, existing: binds) }
        let paths = ContainerPaths(root: root, binds: binds)
        // The user's home where the container has it (its own, or bound with --bindhome or -v), else `/`: HOME
        // and the default working directory always name a directory that exists inside.
        let home = paths.hostPath(user.home).map(FileSystem.isDirectoryFollowingLinks) == true ? user.home : "/"

        var env = EnvironmentList()
        if options.hostEnv {
            for (key, value) in hostEnvironment.sorted(by: { $0.key < $1.key }) where !Self.hostOnlyVariables.contains(key) {
                env.set(key, value)
            }
        } else {
            for key in Self.passedHostVariables { if let value = hostEnvironment[key] { env.set(key, value) } }
        }
        for entry in image.env { env.set(entry) }
        env.setIfAbsent("PATH", user.uid == 0 ? repository.config["root_path"] ?? "/usr/sbin:/sbin:/usr/bin:/bin"
                                              : repository.config["user_path"] ?? "/usr/local/bin:/usr/bin:/bin")
        nvidia?.apply(to: &env, hostEnvironment: hostEnvironment)
        if nvidiaByCDI, let devices = hostEnvironment["CUDA_VISIBLE_DEVICES"] { env.set("CUDA_VISIBLE_DEVICES", devices) }
        cdi?.apply(to: &env)
        env.set("HOME", home)
        env.set("USER", user.name)
        env.set("LOGNAME", user.name)
        env.set("USERNAME", user.name)
        env.set("PS1", String(id.prefix(8)) + (user.uid == 0 ? "# " : "$ "))
        env.set("SHLVL", "0")
        env.set("container_ruser", hostUser.name)
        env.set("container_root", root)
        env.set("container_uuid", id)
        env.set("container_execmode", mode.rawValue)
        env.set("container_names", names.joined(separator: ","))
        if mpiMode != .none { for (name, value) in ProcessManagerPassthrough.environment(hostEnvironment) { env.set(name, value) } }
        for file in options.environmentFiles { for entry in try Self.readEnvFile(file) { env.set(entry) } }
        for entry in options.environment {
            if entry.contains("=") { env.set(entry) }
            else if let value = hostEnvironment[entry] { env.set(entry, value) }
        }

        var command = options.command
        var entrypoint = image.entrypoint
        if let override = options.entrypoint {
            entrypoint = override.isEmpty ? [] : override.split(separator: " ").map(String.init)
        }
        if command.isEmpty { command = options.entrypoint == nil || !image.cmd.isEmpty ? image.cmd : [] }
        command = entrypoint + command
        if command.isEmpty {
            command = FileSystem.exists(root + "/bin/bash") ? ["bash", "-i"] : ["/bin/sh", "-i"]
            Log.warning("no command given, assuming: \(command.joined(separator: " "))")
        }

        let defaultDir = image.workingDir.isEmpty ? home : image.workingDir
        let workdir = options.workingDirectory ?? defaultDir
        guard workdir.hasPrefix("/") else { throw UdockerError(.invalidInput, "working directory must be absolute: \(workdir)") }
        let cwd: String
        if let host = paths.hostPath(workdir), FileSystem.isDirectoryFollowingLinks(host) {
            cwd = workdir
        } else if options.workingDirectory != nil {
            throw UdockerError(.notFound, "invalid working directory: \(workdir)")
        } else {
            cwd = "/"
        }

        guard let executable = ResolvedCommand.find(command[0], path: env.value("PATH") ?? "", workingDirectory: cwd, in: paths) else {
            throw UdockerError.commandNotFound("command not found or has no execute bit set: \(command[0])")
        }

        var mpi = MPIDecision.without(mpiMode)
        if mpiMode == .host || mpiMode == .auto {
            let hostDev = binds.contains { $0.hostPath == "/dev" && $0.containerPath == "/dev" }
            mpi = try MPIDecision.decide(mpiMode, environment: hostEnvironment, program: executable, paths: paths,
                                         libraryPath: env.value("LD_LIBRARY_PATH"), bindDevices: mode.family == .runc || !hostDev)
            for line in mpi.report { Log.debug(line) }
            if let binding = mpi.binding {
                binds += binding.binds.filter { bind in !binds.contains { $0.containerPath == bind.containerPath } }
                let userSet = try Set((options.environment + options.environmentFiles.flatMap(Self.readEnvFile))
                    .map { String($0.split(separator: "=", maxSplits: 1)[0]) })
                binding.apply(to: &env, userSet: userSet)
            }
        }

        var run = ContainerRun(id: id, names: names, root: root, containerDir: containerDir, mode: mode,
                               command: command, executable: executable, environment: env.entries,
                               workingDirectory: cwd, hostWorkingDirectory: paths.hostPath(cwd), user: user, hostUser: hostUser, binds: binds,
                               accounts: try accounts(for: user, mode: mode, root: root, options: options),
                               inheritedDescriptors: inheritedDescriptors, options: options)
        run.mpi = mpi
        run.cdi = cdi
        return run
    }

    /// Host variables a container gets without --hostenv (udocker's valid_host_env).
    static let passedHostVariables = ["TERM", "PROOT_NO_SECCOMP", "PROOT_NEW_SECCOMP", "PROOT_TMP_DIR",
                                      "PROOT_LOADER", "PROOT_LOADER_32", "SLURM_JOBID", "SLURM_JOB_ID",
                                      "PMI_FD", "PMI_RANK", "PMI_SIZE", "PMIX_RANK", "PMIX_NAMESPACE",
                                      "PMIX_SERVER_URI2", "PMIX_SERVER_URI21", "PMIX_SERVER_URI3",
                                      "PMIX_SERVER_URI4", "PMIX_SECURITY_MODE", "PMIX_PTL_MODULE",
                                      "PMIX_SERVER_TMPDIR", "PMIX_SYSTEM_TMPDIR", "PMIX_GDS_MODULE",
                                      "PMIX_HOSTNAME", "PMIX_VERSION", "PMIX_BFROP_BUFFER_TYPE"]
    /// Host variables never passed, even with --hostenv (udocker's invalid_host_env).
    static let hostOnlyVariables: Set<String> = ["VTE_VERSION"]

    /// Sysdirs (unless --nosysdirs), --dri, --bindhome, then -v volumes, less --novol.
    func bindings(_ options: RunOptions) throws -> [RunOptions.Volume] {
        var binds: [RunOptions.Volume] = []
        if !options.noSysDirs {
            binds += sysDirs.filter(FileSystem.exists).map { RunOptions.Volume(hostPath: $0, containerPath: $0) }
        }
        if options.dri { binds += driDirs.filter(FileSystem.exists).map { RunOptions.Volume(hostPath: $0, containerPath: $0) } }
        if options.bindHome { binds.append(RunOptions.Volume(hostPath: hostUser.home, containerPath: hostUser.home)) }
        for volume in options.volumes {
            guard FileSystem.exists(volume.hostPath) else {
                throw UdockerError(.notFound, "invalid host volume path: \(volume.hostPath)")
            }
            guard volume.containerPath != "/" else { throw UdockerError(.invalidInput, "invalid container volume path: /") }
            binds.removeAll { $0.containerPath == volume.containerPath }
            binds.append(volume)
        }
        for novol in options.noVolumes {
            let before = binds.count
            binds.removeAll { $0.hostPath == novol || $0.containerPath == novol }
            if binds.count == before { Log.warning("--novol \(novol) not in volumes list") }
        }
        return binds
    }

    /// The host's NVIDIA driver, when this run (--nvidia) or the container (setup --nvidia) asks for it. Device
    /// nodes are bound only where the container's /dev is not the host's (R modes make their own, --nosysdirs).
    func nvidiaBinding(_ options: RunOptions, mode: ExecMode, containerDir: String, root: String,
                       binds: [RunOptions.Volume]) throws -> NvidiaBinding? {
        guard options.nvidia || NvidiaBinding.isRecorded(containerDir: containerDir) else { return nil }
        let identity = NvidiaBinding.containerIdentity(ContainerPaths(root: root, binds: binds))
        let driver = try NvidiaDriver.discover(nvidiaRoots ?? .host(environment: hostEnvironment), identity: identity)
        let hostDev = binds.contains { $0.hostPath == "/dev" && $0.containerPath == "/dev" }
        return NvidiaBinding(driver: driver, bindDevices: mode.family == .runc || !hostDev)
    }

    /// The edits of the run's CDI devices (--device=VENDOR/CLASS=NAME), and whether the NVIDIA driver comes from
    /// CDI: --nvidia (or setup --nvidia) takes nvidia.com/gpu=all, unless the launcher chose this rank's GPUs,
    /// when a spec defines nvidia.com/gpu devices; else the driver is discovered (NvidiaBinding).
    func cdiApplication(_ options: RunOptions, mode: ExecMode, containerDir: String, root: String,
                        binds: [RunOptions.Volume]) throws -> (CDIApplication?, Bool) {
        let wantsNvidia = options.nvidia || NvidiaBinding.isRecorded(containerDir: containerDir)
        guard !options.cdiDevices.isEmpty || wantsNvidia else { return (nil, false) }
        let registry = try CDIRegistry.load(directories: CDIRegistry.directories(explicit: options.cdiSpecDirs, environment: hostEnvironment))
        var own = options.cdiDevices
        let nvidiaByCDI = wantsNvidia && registry.hasKind(CDIRankDevices.nvidiaKind)
        if nvidiaByCDI && !own.contains(where: { $0.kind == CDIRankDevices.nvidiaKind }) {
            own.append(CDIDeviceName(kind: CDIRankDevices.nvidiaKind, name: "all"))
        }
        guard !own.isEmpty else { return (nil, false) }
        let step = options.cdiStepDevices
        let application = try CDIApplication.make(own: registry.edits(for: own), step: step.isEmpty ? CDIEdits() : registry.edits(for: step),
                                                  mode: mode, root: root, containerDir: containerDir, existingBinds: binds)
        return (application, nvidiaByCDI)
    }

    /// The identity inside the container, by what the mode can do (see `ExecMode.Identities`):
    /// `-u` accepts a name, a uid, or uid:gid; names are looked up in the container's /etc/passwd.
    func resolveUser(mode: ExecMode, explicit: String?, fromImage: String?, root: String) throws -> ContainerRun.User {
        let invoker = ContainerRun.User(name: hostUser.name, uid: hostUser.uid, gid: hostUser.gid,
                                        home: hostUser.home, shell: "/bin/sh")
        let rootUser = ContainerRun.User(name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/sh")
        let spec = explicit ?? fromImage
        switch mode.identities {
        case .any:
            guard let spec, !spec.isEmpty else { return invoker }
            return try lookupUser(spec, root: root)
        case .rootOnly:
            guard let spec, !spec.isEmpty else { return rootUser }
            let wanted = try? lookupUser(spec, root: root)
            if wanted?.uid == 0 { return rootUser }
            if explicit == nil {
                Log.warning("image user \(spec) ignored: mode \(mode.rawValue) runs as root (mapped to you)")
                return rootUser
            }
            throw UdockerError(.unsupported, "mode \(mode.rawValue) runs only as root (uid 0 mapped to you), not as \(spec); "
                               + "modes that can run as another user: P1 P2 R2 R3")
        case .invokerOnly:
            guard let spec, !spec.isEmpty else { return invoker }
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            let wanted = try? lookupUser(spec, root: root)
            let isInvoker = parts[0] == hostUser.name || parts[0] == String(hostUser.uid)
                || (wanted.map { $0.uid == hostUser.uid && (parts.count == 1 || $0.gid == hostUser.gid) } ?? false)
            if isInvoker {
                var user = invoker
                if let wanted, wanted.uid == hostUser.uid { user.name = wanted.name; user.home = wanted.home; user.shell = wanted.shell }
                return user
            }
            if explicit == nil {
                Log.warning("image user \(spec) ignored: mode \(mode.rawValue) runs as the invoking user (\(hostUser.name))")
                return invoker
            }
            throw UdockerError(.unsupported, "mode \(mode.rawValue) runs only as the invoking user \(hostUser.name) "
                               + "(uid \(hostUser.uid)), not as \(spec); modes that can run as another user: P1 P2 R2 R3"
                               + (spec == "root" || spec == "0" ? " (and R1 as root)" : ""))
        }
    }

    func lookupUser(_ spec: String, root: String) throws -> ContainerRun.User {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        let entries = PasswdFile.entries(root + "/etc/passwd")
        let match = entries.first { $0.name == parts[0] } ?? entries.first { String($0.uid) == parts[0] }
        var user: ContainerRun.User
        if let match {
            user = .init(name: match.name, uid: match.uid, gid: match.gid, home: match.home, shell: match.shell)
        } else if let uid = UInt32(parts[0]) {
            user = uid == hostUser.uid
                ? .init(name: hostUser.name, uid: uid, gid: hostUser.gid, home: hostUser.home)
                : .init(name: uid == 0 ? "root" : "udoc\(uid)", uid: uid, gid: uid == 0 ? 0 : hostUser.gid, home: uid == 0 ? "/root" : "/")
        } else if parts[0] == "root" {
            user = .init(name: "root", uid: 0, gid: 0, home: "/root")
        } else if parts[0] == hostUser.name {
            user = .init(name: hostUser.name, uid: hostUser.uid, gid: hostUser.gid, home: hostUser.home)
        } else {
            throw UdockerError(.invalidInput, "user not found in container: \(parts[0])")
        }
        if parts.count == 2 {
            guard let gid = UInt32(parts[1]) ?? PasswdFile.groupID(parts[1], in: root + "/etc/group") else {
                throw UdockerError(.invalidInput, "group not found in container: \(parts[1])")
            }
            user.gid = gid
        }
        return user
    }

    /// passwd/group holding the run user and the invoking user, unless --containerauth or a volume
    /// already provides /etc/passwd; nil when the container's own files already list them.
    func accounts(for user: ContainerRun.User, mode: ExecMode, root: String, options: RunOptions) throws -> AccountFiles? {
        if options.containerAuth || options.volumes.contains(where: { ["/etc/passwd", "/etc/group"].contains($0.containerPath) }) {
            return nil
        }
        // The container's files as it sees them: an absolute link in ROOT leads inside ROOT, not to the host.
        func file(_ path: String) -> String { options.hostAuth ? path : ContainerPaths(root: root).hostPath(path) ?? root + path }
        let passwd = (try? FileSystem.readString(file("/etc/passwd"))) ?? ""
        let group = (try? FileSystem.readString(file("/etc/group"))) ?? ""
        let invoker = ContainerRun.User(name: hostUser.name, uid: hostUser.uid, gid: hostUser.gid, home: hostUser.home)
        var users = [user]
        if user.uid != invoker.uid { users.append(invoker) }
        let files = AccountFiles.adding(users, passwd: passwd, group: group, fromHost: options.hostAuth)
        return files.passwd == passwd && files.group == group && !options.hostAuth ? nil : files
    }

    /// `--env-file`: KEY=VALUE lines; blank lines and # comments skipped.
    static func readEnvFile(_ path: String) throws -> [String] {
        let text = try FileSystem.readString(path)
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") && $0.contains("=") }
    }

    public static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// Reads /etc/passwd and /etc/group style files.
public enum PasswdFile {
    public struct Entry: Sendable, Equatable {
        public var name: String, uid: UInt32, gid: UInt32, home: String, shell: String
    }

    public static func entries(_ path: String) -> [Entry] {
        guard let text = try? FileSystem.readString(path) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return Entry(name: f[0], uid: uid, gid: gid, home: f[5], shell: f[6])
        }
    }

    public static func groupID(_ name: String, in path: String) -> UInt32? {
        guard let text = try? FileSystem.readString(path) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 3, f[0] == name { return UInt32(f[2]) }
        }
        return nil
    }
}
