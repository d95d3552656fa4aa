import Foundation

/// Where one launcher invocation runs: its rank in the job, its place on the node, and the job step it belongs
/// to, read from the process manager's variables. With none of them it is rank 0 of 1.
public struct RankContext: Sendable, Equatable, Codable {
    /// The process manager whose variables were read, first match wins in this order.
    public enum Manager: String, Sendable, Codable {
        case slurm, openmpi = "open-mpi", hydra = "mpich-hydra", pmix, pmi, pbs, none
    }

    public var manager: Manager
    public var rank: Int
    public var size: Int
    public var localRank: Int
    public var localSize: Int
    public var node: String
    /// The job and step, when the manager names them; they scope what ranks of one step share on a node.
    public var jobID: String?
    public var stepID: String?

    /// A name for the step that is the same for every rank of it on a node (job and step as the manager names them).
    public var stepKey: String {
        [jobID ?? "nojob", stepID ?? "nostep"].joined(separator: ".")
    }

    public static func detect(_ env: [String: String], hostname: String = HostName.current) -> RankContext {
        func int(_ names: String...) -> Int? {
            for name in names { if let value = env[name].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) { return value } }
            return nil
        }
        let node = env["SLURMD_NODENAME"] ?? hostname

        if let rank = int("SLURM_PROCID"), let size = int("SLURM_NTASKS", "SLURM_NPROCS") {
            let nodeID = int("SLURM_NODEID") ?? 0
            let tasksPerNode = TasksPerNode.parse(env["SLURM_STEP_TASKS_PER_NODE"] ?? env["SLURM_TASKS_PER_NODE"] ?? "")
            let localSize = tasksPerNode.flatMap { nodeID < $0.count ? $0[nodeID] : nil } ?? size
            return RankContext(manager: .slurm, rank: rank, size: size, localRank: int("SLURM_LOCALID") ?? 0,
                               localSize: localSize, node: node, jobID: env["SLURM_JOB_ID"] ?? env["SLURM_JOBID"],
                               stepID: env["SLURM_STEP_ID"] ?? env["SLURM_STEPID"])
        }
        if let rank = int("OMPI_COMM_WORLD_RANK"), let size = int("OMPI_COMM_WORLD_SIZE") {
            return RankContext(manager: .openmpi, rank: rank, size: size, localRank: int("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0,
                               localSize: int("OMPI_COMM_WORLD_LOCAL_SIZE") ?? size, node: node,
                               jobID: env["PBS_JOBID"] ?? env["PMIX_NAMESPACE"],
                               stepID: env["PMIX_NAMESPACE"] ?? env["OMPI_MCA_ess_base_jobid"])
        }
        if let rank = int("PMI_RANK"), let size = int("PMI_SIZE"), let localRank = int("MPI_LOCALRANKID") {
            return RankContext(manager: .hydra, rank: rank, size: size, localRank: localRank,
                               localSize: int("MPI_LOCALNRANKS") ?? size, node: node,
                               jobID: env["PBS_JOBID"] ?? env["PMI_KVSNAME"], stepID: env["PMI_KVSNAME"])
        }
        if let rank = int("PMIX_RANK") {
            return RankContext(manager: .pmix, rank: rank, size: int("PMIX_SIZE") ?? rank + 1, localRank: int("PMIX_LOCAL_RANK") ?? 0,
                               localSize: int("PMIX_LOCAL_SIZE") ?? 1, node: node,
                               jobID: env["PMIX_NAMESPACE"], stepID: env["PMIX_NAMESPACE"])
        }
        if let rank = int("PMI_RANK"), let size = int("PMI_SIZE") {
            return RankContext(manager: .pmi, rank: rank, size: size, localRank: int("PMI_LOCAL_RANK") ?? 0,
                               localSize: int("PMI_LOCAL_SIZE") ?? 1, node: node, jobID: env["PMI_KVSNAME"], stepID: nil)
        }
        if let job = env["PBS_JOBID"] {
            // A task started by pbsdsh or pbs_tmrsh: the task number orders the job's tasks, the vnode is the node.
            let rank = int("PBS_TASKNUM").map { max(0, $0 - 1) } ?? 0
            return RankContext(manager: .pbs, rank: rank, size: int("PBS_NP") ?? rank + 1, localRank: 0, localSize: 1,
                               node: node, jobID: job, stepID: env["PBS_VNODENUM"])
        }
        return RankContext(manager: .none, rank: 0, size: 1, localRank: 0, localSize: 1, node: node, jobID: nil, stepID: nil)
    }
}

/// SLURM's compressed task counts per node, `2(x3),1` → [2, 2, 2, 1].
public enum TasksPerNode {
    public static func parse(_ text: String) -> [Int]? {
        var counts: [Int] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "(")
            guard let count = Int(parts[0]) else { return nil }
            var repeats = 1
            if parts.count == 2 {
                guard parts[1].hasPrefix("x"), parts[1].hasSuffix(")"), let times = Int(parts[1].dropFirst().dropLast()) else { return nil }
                repeats = times
            }
            counts += Array(repeating: count, count: repeats)
        }
        return counts.isEmpty ? nil : counts
    }
}

/// The node's host name (uname), which names the node where the process manager does not, and its kernel release.
public enum HostName {
    public static var current: String { uname().node }
    public static var kernelRelease: String { uname().release }

    private static func uname() -> (node: String, release: String) {
        var name = utsname()
        Glibc.uname(&name)
        func field<T>(_ value: T) -> String { withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        return (field(name.nodename), field(name.release))
    }
}
