/// What a run decided about MPI (`--mpi`, see `MPIMode`): the mode used, both MPIs, each rule's verdict and, when
/// `auto` fell back to the container's MPI, why. Made by `RunPreparation` once the program is known.
public struct MPIDecision: Sendable, Equatable {
    public var requested: MPIMode
    /// host, container or none.
    public var used: MPIMode
    /// The host's MPI and how it was found, when looked for.
    public var host: String?
    /// The container's MPI and where it lies.
    public var container: String?
    public var verdicts: [MPIVerdict]
    /// Why `auto` did not use the host's MPI.
    public var fallback: String?
    public var binding: MPIBinding?

    /// The lines `--dry-run` prints.
    public var report: [String] {
        var lines = ["mpi: \(used.rawValue)" + (requested != used ? " (--mpi=\(requested.rawValue))" : "")]
        if let host { lines.append("  host MPI: " + host) }
        if let container { lines.append("  container MPI: " + container) }
        lines += verdicts.map { "  " + $0.line }
        if let fallback { lines.append("  " + fallback) }
        return lines
    }

    /// No host MPI asked for: the container's own, or nothing at all.
    public static func without(_ mode: MPIMode) -> MPIDecision {
        MPIDecision(requested: mode, used: mode, host: nil, container: nil, verdicts: [], fallback: nil, binding: nil)
    }

    /// `host` and `auto`: discover the host's MPI and the program's, check every rule; `host` refuses (throws
    /// naming the first rule that failed and both sides), `auto` falls back to the container's MPI.
    public static func decide(_ requested: MPIMode, environment: [String: String], program: ResolvedCommand,
                              paths: ContainerPaths, libraryPath: String?, bindDevices: Bool) throws -> MPIDecision {
        var decision = MPIDecision.without(requested)
        let container = ContainerMPI.discover(program: program, paths: paths, libraryPath: libraryPath)
        if container.library == nil && requested == .auto {
            // Nothing to replace (a shell, a non-MPI tool): the host is not searched, nothing is said.
            decision.used = .container
            decision.container = "none found"
            decision.fallback = "the container's program uses no MPI library: nothing to bind"
            return decision
        }
        let host: HostMPI
        do {
            host = try HostMPI.discover(environment: environment, resolver: .host(environment: environment))
        } catch let error as UdockerError where requested == .auto {
            decision.used = .container
            decision.fallback = "the container's MPI is used: \(error.message)"
            return decision
        }
        decision.host = "\(host.library.description) at \(host.library.file), found by \(host.foundBy); "
            + "\(host.libraries.count) libraries, \(host.directories.count) directories bound"
        decision.container = container.library.map {
            "\($0.description) at \(container.libraryPath ?? "?")\(container.linkedByProgram ? ", linked by " + program.containerPath : "")"
        } ?? "none found"
        decision.verdicts = MPIVerdict.check(host: host, container: container)
        if let failed = decision.verdicts.first(where: { !$0.passed }) {
            guard requested == .auto else {
                throw UdockerError(.unsupported, "--mpi=host refused by the \(failed.rule.rawValue) rule: \(failed.detail) "
                                   + "(--mpi=container runs the container's own MPI)")
            }
            decision.used = .container
            decision.fallback = "the container's MPI is used: the \(failed.rule.rawValue) rule refused the host's"
            Log.warning("host MPI not used, refused by the \(failed.rule.rawValue) rule: \(failed.detail)")
            return decision
        }
        decision.used = .host
        decision.binding = MPIBinding(host: host, bindDevices: bindDevices)
        for name in host.missing { Log.debug("mpi: the host has no \(name) (a component needing it cannot load there either)") }
        return decision
    }
}
