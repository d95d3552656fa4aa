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

    public static func parse(_ text: String) throws -> ExecMode {
        guard let mode = ExecMode(rawValue: text.uppercased()) else {
            throw UdockerError(.invalidInput, "invalid execution mode: \(text) (valid: \(allCases.map(\.rawValue).joined(separator: " ")))")
        }
        return mode
    }
}
