/// Which CPUs a rank runs on (`--bind=none|core|numa|auto`). Pure: it takes the topology and the affinity the
/// process was started with, so every local rank of a node computes its own share without talking to the others.
public enum RankPinning {
    public enum Policy: String, Sendable, CaseIterable {
        case none, core, numa, gpu, auto

        public static func parse(_ text: String) throws -> Policy {
            guard let policy = Policy(rawValue: text.lowercased()) else {
                throw UdockerError(.invalidInput, "invalid --bind: \(text) (valid: none core numa gpu auto)")
            }
            return policy
        }
    }

    public struct Plan: Sendable, Equatable {
        /// nil: leave the affinity as it is.
        public var cpus: [Int]?
        public var reason: String
    }

    public static let unpinned = Plan(cpus: nil, reason: "not pinned (--bind=none)")

    /// - `inherited`: the CPUs the process may use now (what SLURM or mpirun's binding left it).
    /// - `nearGPU`: for `gpu`, the processing units nearest the rank's (first) GPU, when hwloc knows them.
    public static func plan(_ policy: Policy, topology: HostTopology, inherited: [Int], localRank: Int, localSize: Int,
                            nearGPU: [Int]? = nil) -> Plan {
        switch policy {
        case .none:
            return unpinned
        case .auto:
            if !Set(topology.processingUnits).isSubset(of: inherited) {
                return Plan(cpus: nil, reason: "kept the binding the process manager set: \(CPUSet.format(inherited))")
            }
            return byCore(topology, localRank: localRank, localSize: localSize)
        case .core:
            return byCore(topology, localRank: localRank, localSize: localSize)
        case .gpu:
            guard let near = nearGPU, !near.isEmpty else {
                var plan = byCore(topology, localRank: localRank, localSize: localSize)
                plan.reason = "no GPU locality known, by core: " + plan.reason
                return plan
            }
            return Plan(cpus: near, reason: "the cores nearest local rank \(localRank)'s GPU")
        case .numa:
            let nodes = topology.numaNodes.filter { !$0.processingUnits.isEmpty }
            guard !nodes.isEmpty else { return byCore(topology, localRank: localRank, localSize: localSize) }
            let node = nodes[localRank * nodes.count / max(localSize, 1) % nodes.count]
            return Plan(cpus: node.processingUnits, reason: "NUMA node \(node.index) of \(nodes.count) for local rank \(localRank) of \(localSize)")
        }
    }

    /// Cores in NUMA-node order, cut into `localSize` contiguous shares (the first ranks take one more when they do
    /// not divide evenly): neighbouring ranks share a NUMA node, and the ranks spread over all of them. With more
    /// ranks than cores, ranks share cores round-robin.
    static func byCore(_ topology: HostTopology, localRank: Int, localSize: Int) -> Plan {
        let cores = orderedCores(topology)
        guard !cores.isEmpty else { return Plan(cpus: nil, reason: "no cores known: not pinned") }
        let size = max(localSize, 1), rank = localRank % size
        let chosen: [[Int]]
        if size >= cores.count {
            chosen = [cores[rank % cores.count]]
        } else {
            let share = cores.count / size, extra = cores.count % size
            let start = rank * share + min(rank, extra)
            chosen = Array(cores[start..<(start + share + (rank < extra ? 1 : 0))])
        }
        let cpus = chosen.flatMap { $0 }
        return Plan(cpus: cpus, reason: "\(chosen.count) of \(cores.count) cores for local rank \(localRank) of \(localSize): \(CPUSet.format(cpus))")
    }

    static func orderedCores(_ topology: HostTopology) -> [[Int]] {
        let nodeOf = Dictionary(topology.numaNodes.flatMap { node in node.processingUnits.map { ($0, node.index) } },
                                uniquingKeysWith: { first, _ in first })
        return topology.cores.filter { !$0.isEmpty }.sorted {
            (nodeOf[$0[0]] ?? 0, $0[0]) < (nodeOf[$1[0]] ?? 0, $1[0])
        }
    }
}
