/// What a rank's process manager gives it that must reach the command inside the container, or MPI starts
/// singletons: the manager's variables (udocker 1.3's clean environment drops them) and the rendezvous paths
/// they name (PMIx's server directory under slurmd's spool, munge's socket), made visible at the same path.
/// Used by every run whose MPI mode is not `none` (`RunPreparation`), so `udocker run` and the launcher agree.
public enum ProcessManagerPassthrough {
    /// Variables only a process manager sets for the processes it starts: their presence makes `udocker run`
    /// pass the manager in without being asked (`--mpi=container`).
    public static let markers = ["PMIX_RANK", "PMI_RANK", "PMI_FD", "OMPI_COMM_WORLD_RANK", "SLURM_STEP_ID"]

    public static func isPresent(_ host: [String: String]) -> Bool { markers.contains { host[$0] != nil } }

    /// Variables passed by name prefix.
    public static let prefixes = ["SLURM_", "SLURMD_", "PMI_", "PMIX_", "OMPI_", "PRTE_", "OPAL_", "HYDRA_", "PBS_",
                                  "UCX_", "FI_", "I_MPI_", "MPICH_", "MV2_", "PSM2_", "HWLOC_", "MPI_LOCAL"]
    /// Host directories bound at the same path when they exist: the PMIx rendezvous and munge's socket.
    public static let directoryVariables = ["PMIX_SERVER_TMPDIR", "PMIX_SYSTEM_TMPDIR"]
    public static let fixedDirectories = ["/run/munge"]

    /// The variables passed, by name.
    public static func environment(_ host: [String: String]) -> [(name: String, value: String)] {
        host.keys.sorted().filter { name in prefixes.contains(where: name.hasPrefix) }.map { ($0, host[$0]!) }
    }

    /// Volumes for the rendezvous directories that exist and are not bound already.
    public static func volumes(_ host: [String: String], existing: [RunOptions.Volume]) -> [RunOptions.Volume] {
        let bound = Set(existing.map(\.containerPath))
        let candidates = directoryVariables.compactMap { host[$0] } + fixedDirectories
        var seen = Set<String>()
        return candidates.map(Paths.trimTrailingSlashes).filter { path in
            path.hasPrefix("/") && !bound.contains(path) && FileSystem.isDirectoryFollowingLinks(path) && seen.insert(path).inserted
        }.map { RunOptions.Volume(hostPath: $0, containerPath: $0) }
    }
}
