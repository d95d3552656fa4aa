import Foundation
import Testing
import TestSupport

/// The world the launcher's tests run in, proved the way a user would notice it: a two-node SLURM on this
/// machine whose nodes have their own hostname and node-local directories, sbcast, and Open MPI spanning both
/// nodes. One cluster serves the whole test process, so these run one at a time.
@Suite(.serialized, .enabled(if: SlurmCluster.unavailableReason == nil, "\(SlurmCluster.unavailableReason ?? "")"))
struct ClusterHarnessTests {
    static let world = OnceValue<Sandbox>()
    static func sandbox() throws -> Sandbox { try world.get { try Sandbox("cluster-harness") } }

    @Test func srunPutsTwoOfFourTasksOnEachNode() throws {
        let result = try SlurmCluster.shared().srun(["-N2", "-n4", "hostname"], in: Self.sandbox())
        #expect(result.succeeded, "\(result)")
        #expect(result.lines.sorted() == ["n1", "n1", "n2", "n2"], "\(result)")
    }

    @Test(arguments: ["/scratch", "/tmp"])
    func eachNodeHasItsOwn(directory: String) throws {
        let cluster = try SlurmCluster.shared(), sandbox = try Self.sandbox()
        let name = "written-on-n1-\(UUID().uuidString)"
        let write = try cluster.srun(["-N1", "-n1", "-w", "n1", "sh", "-c", "echo from n1 > \(directory)/\(name)"], in: sandbox)
        try #require(write.succeeded, "\(write)")
        let look = try cluster.srun(["-N2", "-n2", "sh", "-c", "echo $(hostname) $(cat \(directory)/\(name) 2>/dev/null || echo nothing)"],
                                    in: sandbox)
        #expect(look.lines.sorted() == ["n1 from n1", "n2 nothing"], "\(look)")
        let hostDirectory = directory == "/scratch" ? cluster.scratch : cluster.nodeTmp
        #expect(Files.exists(hostDirectory("n1") + "/" + name))
        #expect(!Files.exists(hostDirectory("n2") + "/" + name))
        #expect(!Files.exists(directory + "/" + name), "the host's own \(directory) must not see a node's file")
    }

    @Test func sbcastInABatchJobCopiesAFileIntoEveryNodesScratch() throws {
        let cluster = try SlurmCluster.shared(), sandbox = try Self.sandbox()
        let name = "broadcast-\(UUID().uuidString)", payload = "the same bytes on every node\n"
        let source = sandbox.directory + "/" + name
        try Files.write(payload, to: source, owner: sandbox.user)
        let job = try cluster.sbatch(script: """
            #!/bin/sh
            #SBATCH --nodes=2 --ntasks=2
            sbcast \(source) /scratch/\(name) || exit 1
            srun sh -c 'echo $(hostname): $(cat /scratch/\(name))'
            """, in: sandbox)
        #expect(job.succeeded, "\(job)")
        #expect(job.lines.sorted() == ["n1: the same bytes on every node", "n2: the same bytes on every node"], "\(job)")
        for node in cluster.nodeNames {
            #expect((try? Files.read(cluster.scratch(node) + "/" + name)) == payload, "\(node)'s scratch")
        }
    }

    @Test func openMPIRanksFormOneWorldAcrossBothNodes() throws {
        let hello = try MPIFixtures.native().hello
        let result = try SlurmCluster.shared().srun(["-N2", "-n4", "--mpi=pmix", hello], in: Self.sandbox())
        #expect(result.succeeded, "\(result)")
        let ranks = try result.lines.map(HelloLine.init)
        #expect(ranks.map(\.rank).sorted() == [0, 1, 2, 3], "\(result)")
        #expect(ranks.allSatisfy { $0.size == 4 }, "singletons, or a world of another size:\n\(result)")
        #expect(Dictionary(grouping: ranks, by: \.host).mapValues { $0.map(\.rank).sorted() } == ["n1": [0, 1], "n2": [2, 3]],
                "\(result)")
    }

    @Test func pingpongReportsEverySizeAcrossTheNodes() throws {
        let pingpong = try MPIFixtures.native().pingpong
        let result = try SlurmCluster.shared().srun(["-N2", "-n2", "--mpi=pmix", pingpong], in: Self.sandbox())
        #expect(result.succeeded, "\(result)")
        let rows = result.lines.filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").compactMap { Double($0) } }
        #expect(rows.map { $0.first ?? 0 } == (3...22).map { Double(1 << $0) }, "sizes 8 B to 4 MiB:\n\(result)")
        #expect(rows.allSatisfy { $0.count == 3 && $0[1] > 0 && $0[2] > 0 }, "\(result)")
    }
}

/// One line of examples/mpi/hello: `hello from rank R of N on HOST`.
struct HelloLine {
    let rank: Int, size: Int, host: String

    init(_ line: String) throws {
        let words = line.split(separator: " ")
        guard words.count == 8, words[0...2] == ["hello", "from", "rank"], words[4] == "of", words[6] == "on",
              let rank = Int(words[3]), let size = Int(words[5]) else {
            throw TestSupportError("not a line of the MPI hello: \(line)")
        }
        (self.rank, self.size, self.host) = (rank, size, String(words[7]))
    }
}
