import Foundation

/// The launcher's choice of execution mode for an MPI rank: the fastest mode that works for this container on
/// this host, with the reason each faster mode was passed over (printed by `--dry-run`).
///
/// Order: F3 (one process tree, no namespaces: nothing stands between ranks; needs the guest's glibc to load the
/// host's libfakechroot), U1 (user + mount namespace; the ranks of a node share one, so cross-memory attach
/// works between them), R1 (rootless runc: a namespace per rank), P1 (proot: every path system call traced).
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
    public static func choose(root: String, stateDir: String, host: HostFacts) throws -> LaunchModeChoice {
        var reasons: [String] = []
        for mode in order {
            if let reason = obstacle(mode, root: root, stateDir: stateDir, host: host) {
                reasons.append("\(mode.rawValue): \(reason)")
            } else {
                reasons.append("\(mode.rawValue): chosen")
                return LaunchModeChoice(mode: mode, reasons: reasons)
            }
        }
        throw UdockerError(.engine, "no execution mode can run this container here: " + reasons.joined(separator: "; "))
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
