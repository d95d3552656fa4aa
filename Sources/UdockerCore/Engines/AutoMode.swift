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
