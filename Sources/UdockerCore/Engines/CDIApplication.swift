import Foundation

/// What a run does with its CDI devices' edits, decided by mode (docs/gpu.md has the table):
/// - env: set in the container's environment, in every mode;
/// - mounts: binds (read-only with `ro` where the mode can: U1, R, P via proot's binds are not read-only);
///   F modes link them as they link volumes;
/// - device nodes: binds at the node's container path. Where the container's /dev is the host's (a sysdir
///   bind) a node at its own path is already there; in U1 a node at another path under /dev gets the host's /dev
///   bound entry by entry into the container's own /dev, so the new path can be made; F modes cannot show a node
///   anywhere but at its host path (fakechroot passes /dev through), and refuse;
/// - hooks: R modes give them to the runtime (runc runs createContainer/startContainer hooks with the container's
///   state on stdin); elsewhere, and in R modes when the hook program is not on this host, the NVIDIA Container
///   Toolkit's well-known hooks are done by udocker (`CDIKnownHook`); any other hook is a warning naming it.
///
/// `own` are the run's devices; `step` all the GPUs of a step whose ranks share one U1 namespace, in the step's
/// order: bound (and linked) first and the same for every rank, so that they make one namespace (its key is
/// the binds in order), but only `own`'s env (and library path) is applied.
public struct CDIApplication: Sendable, Equatable {
    public var binds: [RunOptions.Volume] = []
    /// Whether the host's /dev (a sysdir bind) is to be replaced by `devBinds`.
    public var replacesHostDev = false
    public var env: [String] = []
    /// Prepended to LD_LIBRARY_PATH (update-ldcache's folders, the CUDA compat directory).
    public var libraryDirectories: [String] = []
    /// Links made in ROOT (create-symlinks), reconciled with those an earlier run made (`cdi.links`).
    public var links: [VolumeLinks.Link] = []
    /// Hooks the OCI runtime runs (R modes).
    public var runtimeHooks: [CDISpec.Hook] = []

    public init() {}

    public static let linksRecord = ContainerFile.cdiLinks.rawValue

    public static func make(own: CDIEdits, step: CDIEdits = CDIEdits(), mode: ExecMode, root: String, containerDir: String,
                            existingBinds: [RunOptions.Volume]) throws -> CDIApplication {
        var application = CDIApplication()
        let recorded = Set(VolumeLinks.decode((try? FileSystem.readString(containerDir + "/" + linksRecord)) ?? "").keys)
        let hostDev = existingBinds.contains { $0.hostPath == "/dev" && $0.containerPath == "/dev" }
        var all = step
        all.merge(own)

        for item in all.mounts {
            application.binds.append(RunOptions.Volume(hostPath: item.value.hostPath, containerPath: item.value.containerPath,
                                                       readOnly: item.value.readOnly))
        }
        for item in all.deviceNodes {
            let node = item.value
            let atOwnPath = node.source == node.path
            switch mode.family {
            case .runc:
                application.binds.append(RunOptions.Volume(hostPath: node.source, containerPath: node.path))
            case .fakechroot:
                guard atOwnPath else {
                    throw UdockerError(.unsupported, "mode \(mode.rawValue) cannot give \(item.owner)'s device \(node.source) at \(node.path) "
                                       + "(fakechroot shows a device only at its host path; \(item.file)): use U1, R1 or P1")
                }
                if !hostDev { application.binds.append(RunOptions.Volume(hostPath: node.source, containerPath: node.path)) }
            case .userns:
                if hostDev && atOwnPath { continue }
                if hostDev && node.path.hasPrefix("/dev/") && !FileSystem.exists(node.path) { application.replacesHostDev = true }
                application.binds.append(RunOptions.Volume(hostPath: node.source, containerPath: node.path))
            case .proot, .singularity:
                if !(hostDev && atOwnPath) { application.binds.append(RunOptions.Volume(hostPath: node.source, containerPath: node.path)) }
            }
        }

        for item in own.env { application.env.append(item.value) }
        let ownHooks = Set(own.hooks.map(\.value))
        for item in all.hooks {
            let hook = item.value
            if mode.family == .runc, access(hook.path, X_OK) == 0 {
                application.runtimeHooks.append(hook)
                continue
            }
            guard let known = CDIKnownHook(hook) else {
                let why = mode.family == .runc ? "its program is not on this host" : "mode \(mode.rawValue) has no OCI runtime to run it"
                Log.warning("CDI hook \(([hook.path] + (hook.args ?? []).dropFirst()).joined(separator: " ")) (\(hook.hookName), \(item.owner) in "
                            + "\(item.file)) not run: \(why)")
                continue
            }
            try known.apply(to: &application, mode: mode, root: root, envApplies: ownHooks.contains(hook), recorded: recorded, item: item)
        }
        if application.replacesHostDev { try application.bindHostDevEntries(root: root) }
        return application
    }

    /// The host's /dev entry by entry (links as links) in place of one bind, so that device nodes at paths the
    /// host's /dev lacks can have their mount points made in the container's own /dev.
    mutating func bindHostDevEntries(root: String) throws {
        var entries: [RunOptions.Volume] = []
        for name in (try FileSystem.list("/dev")).sorted() {
            let host = "/dev/" + name, inRoot = root + "/dev/" + name
            if binds.contains(where: { $0.containerPath == host }) { continue }
            if FileSystem.isSymlink(host) {
                if let target = FileSystem.readLink(host), !FileSystem.exists(inRoot) {
                    links.append(VolumeLinks.Link(hostPath: target, containerPath: host))
                }
            } else if !FileSystem.isSymlink(inRoot) {
                entries.append(RunOptions.Volume(hostPath: host, containerPath: host))
            }
        }
        binds = entries + binds
    }

    /// The run's binds with these added (a CDI mount replaces a bind at the same container path), the host's
    /// /dev bind dropped when it is bound entry by entry.
    public func apply(to existing: [RunOptions.Volume]) -> [RunOptions.Volume] {
        var result = existing.filter { bind in
            !(replacesHostDev && bind.hostPath == "/dev" && bind.containerPath == "/dev")
                && !binds.contains { $0.containerPath == bind.containerPath }
        }
        result += binds
        return result
    }

    /// LD_LIBRARY_PATH with the hooks' directories first, then the env edits; the NVIDIA utilities' directory
    /// last on PATH when a spec mounts programs there (as `setup --nvidia --cdi` writes it: a spec's env can only
    /// replace a variable, not extend it).
    public func apply(to environment: inout EnvironmentList) {
        for entry in env { environment.set(entry) }
        let programs = NvidiaBinding.programDirectory
        if binds.contains(where: { $0.containerPath.hasPrefix(programs + "/") }) {
            let path = environment.value("PATH").flatMap { $0.isEmpty ? nil : $0 }
            if !(path ?? "").split(separator: ":").contains(Substring(programs)) {
                environment.set("PATH", (path.map { $0 + ":" } ?? "") + programs)
            }
        }
        guard !libraryDirectories.isEmpty else { return }
        let current = environment.value("LD_LIBRARY_PATH").flatMap { $0.isEmpty ? nil : $0 }
        environment.set("LD_LIBRARY_PATH", (libraryDirectories + (current.map { [$0] } ?? [])).joined(separator: ":"))
    }

    /// The links step every run has (so a run without CDI links removes an earlier run's).
    public func preparation(root: String, containerDir: String) -> [PreparationStep] {
        let record = containerDir + "/" + Self.linksRecord
        guard !links.isEmpty || FileSystem.exists(record) else { return [] }
        return [.makeDirectory(path: containerDir), .volumeLinks(VolumeLinks(root: root, record: record, links: links))]
    }
}
