import Foundation

/// What a rank can tell will fail before anything is staged: the options whose answer lies on the host (a volume,
/// the GPU driver, the tool a requested mode runs) or in the option itself (a relative -w, a malformed -u, a uid a
/// requested mode cannot run as). Checked first, so a mistake costs one line and no staging; the run pipeline
/// checks them all again against the container (a -w or a -u name only the container's files can answer).
struct LaunchPreflight {
    var request: LaunchRequest
    var config: Config
    var tools: HostTools
    var environment: [String: String]
    var hostUser = HostUser.current()

    func check() throws {
        let options = request.options
        if let share = request.gpusPerRank, share < 1 {
            throw UdockerError(.invalidInput, "invalid --gpus-per-rank: \(share) (at least 1)")
        }
        // The driver comes from a CDI spec for nvidia.com/gpu when there is one (read here, so a bad spec is
        // one line before staging), else from the discovery, which needs a loaded driver.
        if request.gpu || options.nvidia || !options.cdiDevices.isEmpty {
            let cdi = try CDIRankDevices.registry(options, environment: environment)
            if (request.gpu || options.nvidia) && cdi == nil { _ = try NvidiaDriver.version(.host(environment: environment)) }
        }
        for volume in options.volumes {
            guard FileSystem.exists(volume.hostPath) else { throw UdockerError(.notFound, "invalid host volume path: \(volume.hostPath)") }
            guard volume.containerPath != "/" else { throw UdockerError(.invalidInput, "invalid container volume path: /") }
        }
        if let workdir = options.workingDirectory { try checkWorkingDirectory(workdir, volumes: options.volumes) }
        if let user = options.user, !user.isEmpty { try checkUser(user) }
        if let mode = request.execMode { try checkTool(for: mode) }
    }

    /// Absolute; inside a volume, a directory there (anywhere else only the container's tree can tell).
    func checkWorkingDirectory(_ workdir: String, volumes: [RunOptions.Volume]) throws {
        guard workdir.hasPrefix("/") else { throw UdockerError(.invalidInput, "working directory must be absolute: \(workdir)") }
        let covering = volumes.filter { workdir == $0.containerPath || workdir.hasPrefix($0.containerPath + "/") }
            .max { $0.containerPath.count < $1.containerPath.count }
        guard let volume = covering else { return }
        let host = volume.hostPath + workdir.dropFirst(volume.containerPath.count)
        guard FileSystem.isDirectoryFollowingLinks(host) else { throw UdockerError(.notFound, "invalid working directory: \(workdir)") }
    }

    /// `NAME`, `UID`, `NAME:GROUP` or `UID:GID`; a uid the requested mode cannot run as is refused here, as the run
    /// pipeline would after staging.
    func checkUser(_ spec: String) throws {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, !parts.contains(where: \.isEmpty), !spec.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw UdockerError(.invalidInput, "invalid -u: \(spec) (NAME or UID, optionally :GROUP or :GID)")
        }
        guard let mode = request.execMode, let uid = UInt32(parts[0]) else { return }
        switch mode.identities {
        case .any:
            return
        case .rootOnly where uid != 0:
            throw UdockerError(.unsupported, "mode \(mode.rawValue) runs only as root (uid 0 mapped to you), not as \(spec); "
                               + "modes that can run as another user: P1 P2 R2 R3")
        case .invokerOnly where uid != hostUser.uid:
            throw UdockerError(.unsupported, "mode \(mode.rawValue) runs only as the invoking user \(hostUser.name) "
                               + "(uid \(hostUser.uid)), not as \(spec); modes that can run as another user: P1 P2 R2 R3")
        default:
            return
        }
    }

    /// The host tool a requested mode runs (the fakechroot library is chosen by the container's glibc: later).
    func checkTool(for mode: ExecMode) throws {
        switch mode.family {
        case .singularity where tools.singularity == nil:
            throw UdockerError(.notFound, "apptainer or singularity executable not found: mode S1 runs the host's "
                               + "(install apptainer or set UDOCKER_USE_SINGULARITY_EXECUTABLE), or choose P1, F1, R1 or U1")
        case .proot where tools.proot == nil:
            throw UdockerError(.notFound, "proot executable not found (install proot or set UDOCKER_USE_PROOT_EXECUTABLE)")
        case .runc:
            _ = try EngineFactory(config: config, tools: tools).chooseRuntime()
            if mode != .R1 && tools.proot == nil {
                throw UdockerError(.notFound, "proot executable not found: mode \(mode.rawValue) runs proot inside the container")
            }
        default:
            return
        }
    }
}
