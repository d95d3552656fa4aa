import Foundation

/// Maps a prepared run to a configured engine. This is host discovery's hand-off point: it finds the tools and
/// facts the mode needs (Host/) and gives them to the engine as plain values; engines never search.
public struct EngineFactory: Sendable {
    public var config: Config
    public var tools: HostTools
    public var cgroupLayout: @Sendable () -> CgroupLayout

    public init(config: Config, tools: HostTools, cgroupLayout: @escaping @Sendable () -> CgroupLayout = { CgroupLayout.current() }) {
        self.config = config
        self.tools = tools
        self.cgroupLayout = cgroupLayout
    }

    public func engine(for run: ContainerRun) throws -> any Engine {
        let debug = Log.isEnabled(.debug)
        switch run.mode.family {
        case .proot:
            let proot = try require(tools.proot, "proot executable not found (install proot or set UDOCKER_USE_PROOT_EXECUTABLE)")
            let features = tools.prootFeatures(proot)
            try ProotCompatibility.check(run, prootVersion: features.version, proot: proot)
            let tmp = ProcessInfo.processInfo.environment["PROOT_TMP_DIR"] ?? config.tmpDir
            if !features.ports && (!run.options.ports.isEmpty || run.options.publishAll) {
                Log.warning("this proot cannot map ports (-p/-P need udocker's proot): the command uses the host's ports as they are")
            }
            return ProotEngine(proot: proot, hostEnvironment: ["PROOT_TMP_DIR=" + tmp], canMapPorts: features.ports,
                               killOnExit: features.killOnExit, debug: debug)
        case .fakechroot:
            let setup = FakechrootSetup(containerDir: run.containerDir, root: run.root, patchelf: tools.patchelf)
            let state = try setup.state()
            let glibcLevel = setup.glibcLevel(state)
            let library = try require(tools.fakechrootLibrary(glibcLevel: glibcLevel),
                                      "libfakechroot.so not found (install fakechroot or set UDOCKER_FAKECHROOT_SO)")
            try setup.checkLibrary(library, state: state, glibcLevel: glibcLevel)
            warnUnsupported(run, ports: true)
            return FakechrootEngine(library: library, state: state, tmpDir: config.tmpDir, debug: debug,
                                    loaderTakesArgv0: (glibcLevel ?? 0) >= 33)
        case .runc:
            let (runtime, kind) = try chooseRuntime()
            // In a shared temporary directory: one another user made first could let them swap the bundle.
            let stateDir = try PrivateDirectory(config.tmpDir + "/udocker-\(getuid())-runc",
                                                remedy: "remove it or set TMPDIR to a directory of yours").path
            RuncEngine.pruneBundles(in: stateDir)
            var proot: String?, closure: LibraryClosure?
            if run.mode != .R1 {
                proot = try require(tools.proot, "proot executable not found: mode \(run.mode.rawValue) runs proot inside the container")
                closure = try LibraryClosure.of(proot!)
            }
            warnUnsupported(run, ports: true)
            return RuncEngine(runtime: runtime, kind: kind, stateDir: stateDir, proot: proot, prootLibraries: closure,
                              debug: debug, runID: String(getpid()))
        case .singularity:
            let executable = try require(tools.singularity, "apptainer or singularity executable not found: mode S1 runs the host's "
                                         + "(install apptainer or set UDOCKER_USE_SINGULARITY_EXECUTABLE), or choose P1, F1, R1 or U1")
            warnUnsupported(run, ports: true)
            return SingularityEngine(executable: executable, debug: debug)
        case .userns:
            warnUnsupported(run, ports: true)
            return UsernsEngine()
        }
    }

    /// runc or crun: UDOCKER_USE_RUNC_EXECUTABLE decides, else runc, else crun. crun cannot run on a hybrid
    /// cgroup layout, so there the choice falls back to runc.
    public func chooseRuntime() throws -> (String, RuncEngine.Runtime) {
        let layout = cgroupLayout()
        func kind(_ path: String) -> RuncEngine.Runtime { Paths.basename(path).contains("crun") ? .crun : .runc }
        if let chosen = tools.runtimeOverride {
            guard !chosen.hasPrefix("missing:") else {
                throw UdockerError(.notFound, "UDOCKER_USE_RUNC_EXECUTABLE names no executable: \(chosen.dropFirst(8))")
            }
            if kind(chosen) == .crun && layout == .hybrid {
                guard let runc = tools.runc else {
                    throw UdockerError(.unsupported, "crun does not support this host's hybrid cgroup layout and runc is not installed: use P1, F1 or U1")
                }
                Log.warning("crun does not support this host's hybrid cgroup layout: using \(runc)")
                return (runc, .runc)
            }
            return (chosen, kind(chosen))
        }
        if let runc = tools.runc { return (runc, .runc) }
        if let crun = tools.crun {
            guard layout != .hybrid else {
                throw UdockerError(.unsupported, "crun does not support this host's hybrid cgroup layout and runc is not installed: use P1, F1 or U1")
            }
            return (crun, .crun)
        }
        throw UdockerError(.notFound, "runc or crun executable not found (install runc or set UDOCKER_USE_RUNC_EXECUTABLE), or choose P1, F1 or U1")
    }

    private func require(_ value: String?, _ message: String) throws -> String {
        guard let value else { throw UdockerError(.notFound, message) }
        return value
    }

    private func warnUnsupported(_ run: ContainerRun, ports: Bool) {
        if ports && (!run.options.ports.isEmpty || run.options.publishAll) {
            Log.warning("mode \(run.mode.rawValue) does not map ports (-p/-P): the command uses the host's ports as they are")
        }
        if !run.options.devices.isEmpty && run.mode.family != .runc {
            Log.warning("--device is for R modes; in mode \(run.mode.rawValue) bind the device with -v instead")
        }
        if run.options.kernel != nil && run.mode.family != .proot && run.mode != .R2 && run.mode != .R3 {
            Log.warning("--kernel is honoured only where proot runs (P1 P2 R2 R3)")
        }
    }
}

/// Debian's proot 5.1 does not translate statx, faccessat2 or an empty-path fstatat, which glibc 2.33 and
/// later use: a dynamically linked program of such a guest cannot start under it. Detected before exec,
/// so the user hears which modes will work instead of "cannot stat shared object".
public enum ProotCompatibility {
    public static let firstCapableVersion = [5, 2]
    /// The words of the refusal that `DefaultModeFallback` recognises.
    static let incapableWords = "cannot run this container's programs"

    public static func check(_ run: ContainerRun, prootVersion: [Int]?, proot: String) throws {
        guard let version = prootVersion, version.lexicographicallyPrecedes(firstCapableVersion),
              let executable = run.executable, let elf = ElfFile(path: executable.interpreterHostPath ?? executable.hostPath),
              let interpreter = elf.interpreter else { return }
        let paths = ContainerPaths(root: run.root)
        guard let loader = paths.hostPath(interpreter.hasPrefix(run.root) ? String(interpreter.dropFirst(run.root.count)) : interpreter),
              let level = GlibcLevel.highest(in: Paths.dirname(loader) + "/libc.so.6"), level >= 33 else { return }
        throw UdockerError(.unsupported, "\(proot) (proot \(version.map(String.init).joined(separator: "."))) \(incapableWords)"
                           + ": its glibc 2.\(level) uses statx/faccessat2, which this proot does not translate; "
                           + "use F1, R1 or U1, or set UDOCKER_USE_PROOT_EXECUTABLE to proot 5.2 or later")
    }
}

/// The execution mode of a container: `containers/<id>/execmode`, else the configured default (which may be
/// `auto`: probe once, then use the cached verdict).
public struct ExecModeStore: Sendable {
    public enum Setting: Sendable, Equatable {
        case mode(ExecMode)
        case auto
    }

    public var repository: Repository

    public init(repository: Repository) { self.repository = repository }

    public func setting(of id: String) throws -> Setting {
        let file = repository.containerFile(id, .execMode)
        if let text = FileSystem.readValue(file), !text.isEmpty {
            return try Self.parse(text)
        }
        return try defaultSetting()
    }

    /// The mode on record, without probing (`auto` reads as the cached verdict, else the default P1).
    public func mode(of id: String) throws -> ExecMode {
        switch try setting(of: id) {
        case .mode(let mode): return mode
        case .auto: return AutoMode.cachedVerdict(repository.containerFile(id, .autoMode))?.mode ?? .P1
        }
    }

    public func defaultSetting() throws -> Setting {
        try Self.parse(repository.config["override_default_execution_mode"] ?? repository.config["default_execution_mode"] ?? "P1")
    }

    public static func parse(_ text: String) throws -> Setting {
        text.lowercased() == "auto" ? .auto : .mode(try ExecMode.parse(text))
    }

    public func setMode(_ mode: ExecMode, of id: String) throws {
        try FileSystem.atomicWrite(mode.rawValue, to: repository.containerFile(id, .execMode))
    }
}
