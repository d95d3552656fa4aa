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

    /// Bad rank variables (not a whole number, a negative one, a rank not below its size) are one line naming the
    /// variable: a rank that guessed would pin, share GPUs and rendezvous as some other rank.
    public static func detect(_ env: [String: String], hostname: String = HostName.current) throws -> RankContext {
        let read = RankVariables(env)
        let node = env["SLURMD_NODENAME"] ?? hostname

        if let rank = try read.number("SLURM_PROCID"), let size = try read.number("SLURM_NTASKS", "SLURM_NPROCS") {
            let nodeID = try read.number("SLURM_NODEID") ?? .fixed(0)
            let localSize = try read.slurmLocalSize(nodeID: nodeID) ?? size
            return try RankContext(manager: .slurm, rank: rank, size: size, localRank: read.number("SLURM_LOCALID") ?? .fixed(0),
                                   localSize: localSize, node: node, jobID: env["SLURM_JOB_ID"] ?? env["SLURM_JOBID"],
                                   stepID: env["SLURM_STEP_ID"] ?? env["SLURM_STEPID"])
        }
        if let rank = try read.number("OMPI_COMM_WORLD_RANK"), let size = try read.number("OMPI_COMM_WORLD_SIZE") {
            return try RankContext(manager: .openmpi, rank: rank, size: size, localRank: read.number("OMPI_COMM_WORLD_LOCAL_RANK") ?? .fixed(0),
                                   localSize: read.number("OMPI_COMM_WORLD_LOCAL_SIZE") ?? size, node: node,
                                   jobID: env["PBS_JOBID"] ?? env["PMIX_NAMESPACE"],
                                   stepID: env["PMIX_NAMESPACE"] ?? env["OMPI_MCA_ess_base_jobid"])
        }
        if let rank = try read.number("PMI_RANK"), let size = try read.number("PMI_SIZE"), let localRank = try read.number("MPI_LOCALRANKID") {
            return try RankContext(manager: .hydra, rank: rank, size: size, localRank: localRank,
                                   localSize: read.number("MPI_LOCALNRANKS") ?? size, node: node,
                                   jobID: env["PBS_JOBID"] ?? env["PMI_KVSNAME"], stepID: env["PMI_KVSNAME"])
        }
        if let rank = try read.number("PMIX_RANK") {
            return try RankContext(manager: .pmix, rank: rank, size: read.number("PMIX_SIZE") ?? .fixed(rank.value + 1),
                                   localRank: read.number("PMIX_LOCAL_RANK") ?? .fixed(0), localSize: read.number("PMIX_LOCAL_SIZE") ?? .fixed(1),
                                   node: node, jobID: env["PMIX_NAMESPACE"], stepID: env["PMIX_NAMESPACE"])
        }
        if let rank = try read.number("PMI_RANK"), let size = try read.number("PMI_SIZE") {
            return try RankContext(manager: .pmi, rank: rank, size: size, localRank: read.number("PMI_LOCAL_RANK") ?? .fixed(0),
                                   localSize: read.number("PMI_LOCAL_SIZE") ?? .fixed(1), node: node, jobID: env["PMI_KVSNAME"], stepID: nil)
        }
        if let job = env["PBS_JOBID"] {
            // A task started by pbsdsh or pbs_tmrsh: the task number orders the job's tasks, the vnode is the node.
            let task = try read.number("PBS_TASKNUM")
            let rank = task.map { RankVariables.Number(value: max(0, $0.value - 1), variable: $0.variable) } ?? .fixed(0)
            return try RankContext(manager: .pbs, rank: rank, size: read.number("PBS_NP") ?? .fixed(rank.value + 1),
                                   localRank: .fixed(0), localSize: .fixed(1), node: node, jobID: job, stepID: env["PBS_VNODENUM"])
        }
        return RankContext(manager: .none, rank: 0, size: 1, localRank: 0, localSize: 1, node: node, jobID: nil, stepID: nil)
    }
}

extension RankContext {
    /// The checked context: a size of at least one, a rank below it, each named by the variable it came from.
    private init(manager: Manager, rank: RankVariables.Number, size: RankVariables.Number, localRank: RankVariables.Number,
                 localSize: RankVariables.Number, node: String, jobID: String?, stepID: String?) throws {
        try RankVariables.check(size, atLeastOne: "a job has at least one task")
        try RankVariables.check(localSize, atLeastOne: "a node runs at least one of the job's tasks")
        try RankVariables.check(rank, below: size)
        try RankVariables.check(localRank, below: localSize)
        self.init(manager: manager, rank: rank.value, size: size.value, localRank: localRank.value, localSize: localSize.value,
                  node: node, jobID: jobID, stepID: stepID)
    }
}

/// Reading a process manager's numeric variables: a variable that is set must be a whole number ≥ 0.
struct RankVariables {
    /// A value and the variable it came from (`NAME=text`), nil for a default.
    struct Number {
        var value: Int
        var variable: String?
        static func fixed(_ value: Int) -> Number { Number(value: value, variable: nil) }
    }

    let env: [String: String]
    init(_ env: [String: String]) { self.env = env }

    /// The first of `names` that is set; nil when none is.
    func number(_ names: String...) throws -> Number? {
        guard let name = names.first(where: { env[$0] != nil }), let text = env[name] else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
            throw UdockerError(.invalidInput, "invalid \(name)=\(text): not a whole number of 0 or more")
        }
        return Number(value: value, variable: "\(name)=\(text)")
    }

    /// This node's task count from SLURM's per-node list (the step's, else the job's), by SLURM_NODEID.
    func slurmLocalSize(nodeID: Number) throws -> Number? {
        guard let name = ["SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"].first(where: { env[$0] != nil }),
              let text = env[name] else { return nil }
        guard let counts = TasksPerNode.parse(text) else {
            throw UdockerError(.invalidInput, "invalid \(name)=\(text): not a list of task counts such as 2(x3),1")
        }
        guard nodeID.value < counts.count else {
            throw UdockerError(.invalidInput, "invalid \(nodeID.variable ?? "SLURM_NODEID=0"): \(name)=\(text) lists \(counts.count) node(s)")
        }
        return Number(value: counts[nodeID.value], variable: "\(name)=\(text)")
    }

    static func check(_ size: Number, atLeastOne why: String) throws {
        guard size.value < 1, let variable = size.variable else { return }
        throw UdockerError(.invalidInput, "invalid \(variable): \(why)")
    }

    static func check(_ rank: Number, below size: Number) throws {
        guard rank.value >= size.value else { return }
        throw UdockerError(.invalidInput, "invalid \(rank.variable ?? "rank \(rank.value)"): not below "
                           + (size.variable ?? "the size \(size.value)"))
    }
}

/// SLURM's compressed task counts per node, `2(x3),1` → [2, 2, 2, 1].
public enum TasksPerNode {
    public static func parse(_ text: String) -> [Int]? {
        var counts: [Int] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "(")
            guard parts.count <= 2, let count = Int(parts[0]), count >= 0 else { return nil }
            var repeats = 1
            if parts.count == 2 {
                guard parts[1].hasPrefix("x"), parts[1].hasSuffix(")"), let times = Int(parts[1].dropFirst().dropLast()),
                      (1...100_000).contains(times) else { return nil }
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
