import Foundation

/// `setup --execmode=auto` and UDOCKER_DEFAULT_EXECUTION_MODE=auto: try the modes from the fastest start-up
/// to the slowest by running a trivial command in the container, and take the first that works. The verdict
/// and the reason for each mode tried are cached beside ROOT (execmode.auto) for this host.
public enum AutoMode {
    /// Fastest first: U1 (a few ms), R1 (~30 ms), S1, F1 (a loader per exec), P1 (ptrace on every call).
    public static let candidates: [ExecMode] = [.U1, .R1, .S1, .F1, .P1]

    public struct Verdict: Codable, Sendable, Equatable {
        public var mode: ExecMode
        public var reasons: [String]
        /// The host the probe ran on: a container on a shared file system may be used from different nodes.
        public var host: String
    }

    public static var hostIdentity: String { HostName.current + " " + HostName.kernelRelease }

    public static func cachedVerdict(_ path: String) -> Verdict? {
        guard let data = try? FileSystem.read(path), let verdict = try? JSONDecoder().decode(Verdict.self, from: data),
              verdict.host == hostIdentity else { return nil }
        return verdict
    }

    /// Probes each candidate with `probe` (which throws with the reason a mode cannot be used, or returns the
    /// exit status of the trivial command) and saves the verdict at `cache`.
    public static func choose(cache: String, probe: (ExecMode) throws -> Int32) throws -> Verdict {
        var reasons: [String] = []
        for mode in candidates {
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                let status = try probe(mode)
                let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                if status == 0 {
                    reasons.append("\(mode.rawValue): works (\(String(format: "%.0f", ms)) ms)")
                    let verdict = Verdict(mode: mode, reasons: reasons, host: hostIdentity)
                    try FileSystem.atomicWrite(try JSONEncoder().encode(verdict), to: cache)
                    return verdict
                }
                reasons.append("\(mode.rawValue): a trivial command exited with status \(status)")
            } catch {
                reasons.append("\(mode.rawValue): \(error)")
            }
        }
        throw UdockerError(.engine, "no execution mode works for this container on this host: " + reasons.joined(separator: "; "))
    }
}

/// A container left at udocker 1.3's default, P1 (no mode set, none configured), that P1 cannot run here — the
/// host's proot is missing, or is Debian's 5.1 and the guest's glibc is 2.33 or later: `udocker run` says so in
/// one line and runs it in the fastest mode that can, judged from the host's facts as the launcher judges them.
/// Only modes that leave the container as it is are taken (U1, then R1: mount points for binds at most); the F
/// modes patch it, so only `setup` ever chooses them. Nothing is recorded: `setup --execmode` decides for good.
public enum DefaultModeFallback {
    public static let candidates: [ExecMode] = [.U1, .R1]

    /// Whether planning a P1 run failed because of P1 itself here, not because of the run (a missing command, a
    /// bad option), which no other mode would mend.
    static func isIncapable(_ error: UdockerError, tools: HostTools) -> Bool {
        error.code == .unsupported && error.message.contains(ProotCompatibility.incapableWords)
            || (error.code == .notFound && tools.proot == nil)
    }

    /// nil when `mode` can run a container on this host, else why not.
    static func obstacle(_ mode: ExecMode, factory: EngineFactory) -> String? {
        switch mode {
        case .U1: return UserNamespaceProbe.failure()
        case .R1: return (try? factory.chooseRuntime()) == nil ? "neither runc nor crun is usable here" : nil
        default: return "not a fallback mode"
        }
    }

    /// The warning's line: the first clause of P1's own reason, the mode used, and how to keep or refuse it.
    static func notice(_ error: UdockerError, using mode: ExecMode, container: String) -> String {
        let reason = error.message.split(separator: ";", maxSplits: 1).first.map(String.init) ?? error.message
        return "P1, the default mode, cannot run this container: \(reason); running it in \(mode.rawValue), the fastest mode "
            + "that can (udocker setup --execmode=\(mode.rawValue) \(container) to keep it, --execmode=P1 to insist)"
    }
}
