import Foundation

/// The launcher's choice of execution mode for an MPI rank: the fastest mode that works for this container on
/// this host, with the reason each faster mode was passed over (printed by `--dry-run`).
///
/// Order: F3 (one process tree, no namespaces: nothing stands between ranks; needs the guest's glibc to load the
/// host's libfakechroot), U1 (user + mount namespace; the ranks of a node share one, so cross-memory attach
/// works between them), R1 (rootless runc: a namespace per rank), P1 (proot: every path system call traced).
///
/// A volume bound at another container path (`-v /data/$TASK:/in`) rules the F modes out: Debian's libfakechroot
/// has no directory map, so F modes could only make it a symlink in ROOT — in the stage every job on the node
/// runs from, where concurrent jobs would re-point each other's links. The launcher never makes such links: it
/// takes the fastest other mode, and refuses an F mode asked for (see `refusal`).
public struct LaunchModeChoice: Sendable, Equatable, Codable {
    public var mode: ExecMode
    /// One line per mode considered, in order: why it was passed over, or that it was chosen.
    public var reasons: [String]

    public static let order: [ExecMode] = [.F3, .U1, .R1, .P1]

    /// The facts about the host the choice depends on, gathered by `HostFacts.current`.
    public struct HostFacts: Sendable {
        public var fakechrootLibrary: String?
        public var patchelf: String?
        /// nil when user namespaces work, else why not.
        public var userNamespaceFailure: String?
        public var runtime: String?
        public var proot: String?

        public static func current(tools: HostTools, config: Config) -> HostFacts {
            HostFacts(fakechrootLibrary: tools.fakechrootLibrary, patchelf: tools.patchelf,
                      userNamespaceFailure: UserNamespaceProbe.failure(),
                      runtime: try? EngineFactory(config: config, tools: tools).chooseRuntime().0, proot: tools.proot)
        }
    }

    /// `stateDir` holds the container's F-mode bookkeeping (the stage directory); `root` its file system.
    /// `volumes` are the run's own (-v); with one at another path the choice needs no file tree (see `withoutLinks`).
    public static func choose(root: String, stateDir: String, host: HostFacts,
                              volumes: [RunOptions.Volume] = []) throws -> LaunchModeChoice {
        var reasons: [String] = []
        for mode in order {
            if let reason = movedVolumeObstacle(mode, volumes) ?? obstacle(mode, root: root, stateDir: stateDir, host: host) {
                reasons.append("\(mode.rawValue): \(reason)")
            } else {
                reasons.append("\(mode.rawValue): chosen")
                return LaunchModeChoice(mode: mode, reasons: reasons)
            }
        }
        throw UdockerError(.engine, "no execution mode can run this container here: " + reasons.joined(separator: "; "))
    }

    /// The choice for a run with a volume at another path, made before staging: no F mode, so no file tree to
    /// look at (the other modes depend on the host alone). nil when every volume is bound at its own path.
    public static func withoutLinks(volumes: [RunOptions.Volume], host: () -> HostFacts) throws -> LaunchModeChoice? {
        guard !movedVolumes(volumes).isEmpty else { return nil }
        return try choose(root: "", stateDir: "", host: host(), volumes: volumes)
    }

    /// Volumes bound at a container path other than their host path.
    public static func movedVolumes(_ volumes: [RunOptions.Volume]) -> [RunOptions.Volume] {
        volumes.filter { $0.hostPath != $0.containerPath }
    }

    /// Why the launcher will not run `mode` with these volumes, as the one line to print; nil when it can.
    /// `origin` says where the mode came from ("--execmode=F3", "the published container's mode F3").
    public static func refusal(_ mode: ExecMode, volumes: [RunOptions.Volume], origin: String) -> String? {
        guard mode.family == .fakechroot, let volume = movedVolumes(volumes).first else { return nil }
        return "cannot bind \(volume.hostPath) at \(volume.containerPath) with \(origin): F modes bind a volume at another path "
            + "only with a link in the node's shared stage, which every job on the node would see; bind it at its own path "
            + "(-v \(volume.hostPath):\(volume.hostPath)) or run in U1, R1 or P1 (--execmode=U1)"
    }

    static func movedVolumeObstacle(_ mode: ExecMode, _ volumes: [RunOptions.Volume]) -> String? {
        guard mode.family == .fakechroot, let volume = movedVolumes(volumes).first else { return nil }
        return "-v \(volume.hostPath):\(volume.containerPath) binds a volume at another path, which F modes can only do with "
            + "a link in the node's shared stage"
    }

    static func obstacle(_ mode: ExecMode, root: String, stateDir: String, host: HostFacts) -> String? {
        switch mode {
        case .F3:
            guard let library = host.fakechrootLibrary else { return "libfakechroot.so not found (install fakechroot or set UDOCKER_FAKECHROOT_SO)" }
            guard host.patchelf != nil else { return "patchelf not found" }
            do {
                let setup = FakechrootSetup(containerDir: stateDir, root: root, patchelf: host.patchelf)
                try setup.checkLibrary(library, state: try setup.state())
                return nil
            } catch {
                return "\(error)"
            }
        case .U1:
            return host.userNamespaceFailure
        case .R1:
            return host.runtime == nil ? "neither runc nor crun is usable here" : nil
        case .P1:
            return host.proot == nil ? "proot not found" : nil
        default:
            return "not a launcher mode"
        }
    }
}
