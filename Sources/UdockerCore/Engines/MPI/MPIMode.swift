/// Which MPI a run's program uses (`--mpi`): the host's bound in place of the container's (`host`), the
/// container's own with the process manager passed in (`container`), udocker 1.3's clean environment (`none`),
/// or the host's when every ABI check passes, else the container's (`auto`, the launcher's default).
public enum MPIMode: String, Sendable, Equatable, Codable, CaseIterable {
    case auto, host, container, none

    public static func parse(_ text: String) throws -> MPIMode {
        guard let mode = MPIMode(rawValue: text.lowercased()) else {
            throw UdockerError(.invalidInput, "invalid --mpi: \(text) (valid: \(allCases.map(\.rawValue).joined(separator: " ")))")
        }
        return mode
    }
}
