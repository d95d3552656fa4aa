/// udocker's execution modes, plus U1 (the built-in user-namespace engine).
public enum ExecMode: String, CaseIterable, Sendable, Codable {
    case P1, P2, F1, F2, F3, F4, R1, R2, R3, S1, U1

    public enum Family: Sendable { case proot, fakechroot, runc, singularity, userns }

    public var family: Family {
        switch self {
        case .P1, .P2: return .proot
        case .F1, .F2, .F3, .F4: return .fakechroot
        case .R1, .R2, .R3: return .runc
        case .S1: return .singularity
        case .U1: return .userns
        }
    }

    /// Which identities a mode can run a command as.
    public enum Identities: Sendable {
        /// Any uid/gid, root included, emulated by proot (P modes, and R2/R3 with proot inside runc).
        case any
        /// Only container uid 0 (mapped to the invoking user): rootless runc needs uid 0 mapped.
        case rootOnly
        /// Only the invoking user's own uid/gid.
        case invokerOnly
    }

    public var identities: Identities {
        switch self {
        case .P1, .P2, .R2, .R3: return .any
        case .R1: return .rootOnly
        case .F1, .F2, .F3, .F4, .S1, .U1: return .invokerOnly
        }
    }

    /// Whether the mode changes files inside ROOT when set up (and so bakes in the container's location).
    public var patchesContainer: Bool { self == .F2 || self == .F3 || self == .F4 }

    public static func parse(_ text: String) throws -> ExecMode {
        guard let mode = ExecMode(rawValue: text.uppercased()) else {
            throw UdockerError(.invalidInput, "invalid execution mode: \(text) (valid: \(allCases.map(\.rawValue).joined(separator: " ")) auto)")
        }
        return mode
    }

    public static func names(_ modes: [ExecMode]) -> String { modes.map(\.rawValue).joined(separator: " ") }
}
