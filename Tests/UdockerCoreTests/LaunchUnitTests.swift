import Foundation
import TestSupport
import Testing
@testable import UdockerCore

/// The launcher's pure decisions: which rank this is, which CPUs it gets, which file systems count as shared.
@Suite struct RankContextTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let environment: [String: String]
        let expected: RankContext
    }

    static let cases: [Case] = [
        Case(testDescription: "nothing: rank 0 of 1", environment: [:],
             expected: .init(manager: .none, rank: 0, size: 1, localRank: 0, localSize: 1, node: "host", jobID: nil, stepID: nil)),
        Case(testDescription: "srun -N2 -n5, third node", environment: [
            "SLURM_PROCID": "4", "SLURM_NTASKS": "5", "SLURM_LOCALID": "0", "SLURM_NODEID": "2",
            "SLURM_STEP_TASKS_PER_NODE": "2(x2),1", "SLURMD_NODENAME": "n3", "SLURM_JOB_ID": "42", "SLURM_STEP_ID": "1",
            "PMIX_RANK": "4"],
             expected: .init(manager: .slurm, rank: 4, size: 5, localRank: 0, localSize: 1, node: "n3", jobID: "42", stepID: "1")),
        Case(testDescription: "sbatch environment only (SLURM_TASKS_PER_NODE)", environment: [
            "SLURM_PROCID": "1", "SLURM_NPROCS": "4", "SLURM_LOCALID": "1", "SLURM_TASKS_PER_NODE": "4", "SLURM_JOBID": "7"],
             expected: .init(manager: .slurm, rank: 1, size: 4, localRank: 1, localSize: 4, node: "host", jobID: "7", stepID: nil)),
        Case(testDescription: "Open MPI's mpirun", environment: [
            "OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "8", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
            "OMPI_COMM_WORLD_LOCAL_SIZE": "4", "PMIX_RANK": "3", "PMIX_NAMESPACE": "prterun-x-1@1"],
             expected: .init(manager: .openmpi, rank: 3, size: 8, localRank: 1, localSize: 4, node: "host",
                             jobID: "prterun-x-1@1", stepID: "prterun-x-1@1")),
        Case(testDescription: "MPICH Hydra", environment: [
            "PMI_RANK": "2", "PMI_SIZE": "4", "MPI_LOCALRANKID": "0", "MPI_LOCALNRANKS": "2", "PMI_KVSNAME": "kvs_9_0"],
             expected: .init(manager: .hydra, rank: 2, size: 4, localRank: 0, localSize: 2, node: "host", jobID: "kvs_9_0", stepID: "kvs_9_0")),
        Case(testDescription: "PMIx alone", environment: ["PMIX_RANK": "5", "PMIX_NAMESPACE": "ns1", "PMIX_LOCAL_RANK": "1", "PMIX_LOCAL_SIZE": "2"],
             expected: .init(manager: .pmix, rank: 5, size: 6, localRank: 1, localSize: 2, node: "host", jobID: "ns1", stepID: "ns1")),
        Case(testDescription: "PMI-1 alone", environment: ["PMI_RANK": "1", "PMI_SIZE": "2", "PMI_FD": "5"],
             expected: .init(manager: .pmi, rank: 1, size: 2, localRank: 0, localSize: 1, node: "host", jobID: nil, stepID: nil)),
        Case(testDescription: "PBS task (pbsdsh)", environment: ["PBS_JOBID": "12.server", "PBS_TASKNUM": "3", "PBS_NP": "4", "PBS_VNODENUM": "1"],
             expected: .init(manager: .pbs, rank: 2, size: 4, localRank: 0, localSize: 1, node: "host", jobID: "12.server", stepID: "1")),
    ]

    @Test(arguments: cases)
    func detects(_ testCase: Case) throws {
        #expect(try RankContext.detect(testCase.environment, hostname: "host") == testCase.expected)
    }

    @Test(arguments: [("2(x3),1", [2, 2, 2, 1]), ("16", [16]), ("1,3(x2)", [1, 3, 3])])
    func expandsTasksPerNode(text: String, counts: [Int]) {
        #expect(TasksPerNode.parse(text) == counts)
    }

    @Test(arguments: ["", "x", "2(3)", "2(x)"])
    func refusesMalformedTasksPerNode(text: String) {
        #expect(TasksPerNode.parse(text) == nil)
    }
}

@Suite struct RankPinningTests {
    /// Two NUMA nodes of four cores, two hardware threads each; OS numbering interleaves the nodes' cores.
    static let twoSockets = HostTopology(
        processingUnits: Array(0..<16),
        cores: [[0, 8], [1, 9], [2, 10], [3, 11], [4, 12], [5, 13], [6, 14], [7, 15]],
        numaNodes: [.init(index: 0, processingUnits: [0, 2, 4, 6, 8, 10, 12, 14]), .init(index: 1, processingUnits: [1, 3, 5, 7, 9, 11, 13, 15])])

    @Test func localRanksGetDisjointSharesSpreadOverNumaNodes() {
        let plans = (0..<4).map { RankPinning.plan(.core, topology: Self.twoSockets, inherited: Array(0..<16), localRank: $0, localSize: 4) }
        let sets = plans.map { Set($0.cpus ?? []) }
        for i in 0..<4 { for j in (i + 1)..<4 { #expect(sets[i].isDisjoint(with: sets[j])) } }
        #expect(sets.reduce(Set<Int>()) { $0.union($1) } == Set(0..<16))
        // Ranks 0 and 1 on NUMA node 0, ranks 2 and 3 on node 1: each keeps its cores and their memory close.
        #expect(plans[0].cpus == [0, 8, 2, 10] && plans[3].cpus == [5, 13, 7, 15])
    }

    @Test func unevenSharesGiveTheFirstRanksOneCoreMore() {
        let counts = (0..<3).map { RankPinning.plan(.core, topology: Self.twoSockets, inherited: Array(0..<16), localRank: $0, localSize: 3).cpus!.count }
        #expect(counts == [6, 6, 4])
    }

    @Test func moreRanksThanCoresShareCoresRoundRobin() {
        let cpus = (0..<10).map { RankPinning.plan(.core, topology: Self.twoSockets, inherited: Array(0..<16), localRank: $0, localSize: 10).cpus! }
        #expect(cpus[0] == cpus[8] && cpus[1] == cpus[9] && cpus[0] != cpus[1])
    }

    @Test func autoKeepsABindingTheProcessManagerSet() {
        let plan = RankPinning.plan(.auto, topology: Self.twoSockets, inherited: [3, 11], localRank: 1, localSize: 4)
        #expect(plan.cpus == nil && plan.reason.contains("3,11"))
        let unrestricted = RankPinning.plan(.auto, topology: Self.twoSockets, inherited: Array(0..<16), localRank: 1, localSize: 4)
        #expect(unrestricted.cpus == [4, 12, 6, 14])
    }

    @Test func numaGivesEachRankItsNode() {
        let nodes = (0..<4).map { RankPinning.plan(.numa, topology: Self.twoSockets, inherited: Array(0..<16), localRank: $0, localSize: 4).cpus! }
        #expect(nodes[0] == nodes[1] && nodes[2] == nodes[3] && nodes[0] == [0, 2, 4, 6, 8, 10, 12, 14] && nodes[2] != nodes[0])
    }

    @Test func noneLeavesTheAffinityAlone() {
        #expect(RankPinning.plan(.none, topology: Self.twoSockets, inherited: [1], localRank: 0, localSize: 2).cpus == nil)
        #expect(throws: UdockerError.self) { try RankPinning.Policy.parse("socket") }
    }
}

@Suite struct LaunchPolicyTests {
    @Test(arguments: [(0x6969, true, "NFS"), (0x0BD0_0BD0, true, "Lustre"), (0x4750_4653, true, "GPFS"), (0x1983_0326, true, "BeeGFS"),
                      (0xEF53, false, "ext4"), (0x0102_1994, false, "tmpfs"), (0x5846_5342, false, "XFS"), (0x1234, true, "type 0x1234")])
    func classifiesFileSystems(type: Int, shared: Bool, name: String) {
        let kind = FileSystemKind.classify(type)
        #expect(kind.isShared == shared && kind.name == name)
    }

    @Test(arguments: [("90", 90.0), ("90s", 90), ("15m", 900), ("2h", 7200), ("7d", 604_800)])
    func parsesAges(text: String, seconds: Double) throws {
        #expect(try StageCleaner.parseAge(text) == seconds)
    }

    @Test(arguments: ["", "h", "-1", "3w", "1.5.2"])
    func refusesBadAges(text: String) {
        #expect(throws: UdockerError.self) { try StageCleaner.parseAge(text) }
    }

    @Test(arguments: [(".staging-image-abc123-Xy9Zq1", "image-abc123"), (".rm-container-1b2c3d4e-aaaa-bbbb-cccc-0123456789ab-f00d-4711",
                                                                            "container-1b2c3d4e-aaaa-bbbb-cccc-0123456789ab-f00d")])
    func leftoversNameTheirStage(name: String, key: String) {
        #expect(StageCleaner.key(ofLeftover: name) == key)
    }

    @Test func passesTheProcessManagersVariablesOnly() {
        let host = ["SLURM_PROCID": "1", "PMIX_RANK": "1", "OMPI_MCA_btl": "self,vader", "UCX_TLS": "rc", "HOME": "/home/u",
                    "PATH": "/usr/bin", "MPI_LOCALRANKID": "0", "LD_LIBRARY_PATH": "/opt/lib"]
        let passed = ProcessManagerPassthrough.environment(host).map { $0.name + "=" + $0.value }
        #expect(passed == ["MPI_LOCALRANKID=0", "OMPI_MCA_btl=self,vader", "PMIX_RANK=1", "SLURM_PROCID=1", "UCX_TLS=rc"])
        #expect(ProcessManagerPassthrough.isPresent(host) && !ProcessManagerPassthrough.isPresent(["SLURM_JOB_ID": "7", "HOME": "/"]))
    }

    @Test func bindsTheRendezvousDirectoriesThatExist() throws {
        let dir = try Staging.shared().makeDirectory("pmix-tmpdir")
        let volumes = ProcessManagerPassthrough.volumes(["PMIX_SERVER_TMPDIR": dir + "/", "PMIX_SYSTEM_TMPDIR": "/nonexistent/pmix"], existing: [])
        #expect(volumes.map(\.hostPath).contains(dir) && volumes.allSatisfy { $0.hostPath == $0.containerPath })
        #expect(!volumes.map(\.hostPath).contains("/nonexistent/pmix"))
        #expect(ProcessManagerPassthrough.volumes(["PMIX_SERVER_TMPDIR": dir], existing: [.init(hostPath: "/x", containerPath: dir)])
            .allSatisfy { $0.hostPath != dir })
    }
}
