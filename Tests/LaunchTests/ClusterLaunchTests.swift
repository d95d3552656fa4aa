import Foundation
import Testing
import TestSupport
import CommandExpectations

/// The launcher on the real thing: the harness's two-node SLURM (nodes n1 and n2 with their own /scratch, /tmp and
/// /dev/shm; /var/tmp, where the repository lies, plays the shared file system), Debian's Open MPI, and Debian
/// images with their own Open MPI and the MPI examples.
@Suite(.serialized, .enabled(if: SlurmCluster.unavailableReason == nil, "\(SlurmCluster.unavailableReason ?? "")"))
struct ClusterLaunchTests {
    /// The cluster, and a repository on the shared file system holding the Debian 12 and 11 MPI images.
    final class World: Sendable {
        let cluster: SlurmCluster
        let sandbox: Sandbox
        let debian12: FixtureImage
        let debian11: FixtureImage

        init() throws {
            cluster = try SlurmCluster.shared()
            sandbox = try Sandbox("cluster-launch")
            debian12 = try MPIFixtures.debian12()
            debian11 = try MPIFixtures.debian11()
            try sandbox.load(debian12)
            try sandbox.load(debian11)
        }

        var launcher: String { sandbox.staging.udockerLaunch }

        /// `srun SRUN-ARGUMENTS udocker-launch --scratch=/scratch LAUNCH-ARGUMENTS`.
        func srun(_ srunArguments: [String], _ launchArguments: [String]) throws -> CommandResult {
            try cluster.srun(srunArguments + [launcher, "--scratch=/scratch"] + launchArguments, in: sandbox, timeout: .seconds(240))
        }

        /// The stage log lines of `node` (its own /scratch).
        func stageLog(_ node: String) -> [String] {
            let path = cluster.scratch(node) + "/udocker-\(sandbox.user.uid)/stage.log"
            return ((try? Files.read(path)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    static let shared = OnceValue<World>()
    static func world() throws -> World { try shared.get { try World() } }

    /// "hello from rank R of N on HOST" lines, as (rank, size, host).
    static func ranks(_ output: String) -> [(Int, Int, String)] {
        output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count == 8, words[0] == "hello", let rank = Int(words[3]), let size = Int(words[5]) else { return nil }
            return (rank, size, String(words[7]))
        }.sorted { $0.0 < $1.0 }
    }

    @Test func fourRanksOnTwoNodesAreOneJobStagedOncePerNodeAndReusedByTheNextStep() throws {
        let world = try Self.world()
        let image = world.debian12.reference
        let first = try world.srun(["-N2", "-n4", "--mpi=pmix"], [image, "--", MPIFixtures.helloPath])
        try requireSuccess(first)
        let ranks = Self.ranks(first.out)
        #expect(ranks.map(\.0) == [0, 1, 2, 3] && ranks.allSatisfy { $0.1 == 4 }, "not one job of 4 ranks: \(first)")
        #expect(ranks.map(\.2) == ["n1", "n1", "n2", "n2"], "\(first)")
        for node in world.cluster.nodeNames {
            let log = world.stageLog(node)
            #expect(log.filter { $0.contains(" staged ") }.count == 1, "\(node) staged other than once: \(log)")
            #expect(log.allSatisfy { $0.split(separator: " ")[1] == Substring(node) }, "\(log)")
        }

        let second = try world.srun(["-N2", "-n4", "--mpi=pmix"], [image, "--", MPIFixtures.helloPath])
        try requireSuccess(second)
        #expect(Self.ranks(second.out).count == 4, "\(second)")
        for node in world.cluster.nodeNames {
            let log = world.stageLog(node)
            #expect(log.filter { $0.contains(" staged ") }.count == 1, "the next step staged again on \(node): \(log)")
            #expect(log.suffix(2).allSatisfy { $0.contains(" reused ") }, "\(log)")
        }
    }

    @Test func sixteenRanksOfOneNodeStartedBySrunStageOnce() throws {
        let world = try Self.world()
        // A scratch directory of this test's own in the node's private /tmp (job scripts of other tests stage in /tmp).
        let scratch = "/tmp/sixteen-" + UUID().uuidString.prefix(8)
        for node in world.cluster.nodeNames { try Files.makeDirectory(world.cluster.nodeTmp(node) + scratch.dropFirst(4), owner: world.sandbox.user) }
        let result = try world.cluster.srun(["-N1", "-n16", "--overcommit", world.launcher, "--scratch=" + scratch, world.debian12.reference,
                                             "--", "cat", "/etc/debian_version"], in: world.sandbox, timeout: .seconds(240))
        try requireSuccess(result)
        #expect(result.lines.count == 16 && Set(result.lines).count == 1 && result.lines[0].hasPrefix("12."), "\(result)")
        let logs = world.cluster.nodeNames.compactMap { try? Files.read(world.cluster.nodeTmp($0) + scratch.dropFirst(4) + "/udocker-\(world.sandbox.user.uid)/stage.log") }
        let log = try #require(logs.count == 1 ? logs.first : nil, "expected one node's stage log: \(logs)").split(separator: "\n")
        #expect(log.filter { $0.contains(" staged ") }.count == 1 && log.filter { $0.contains(" reused ") }.count == 15, "\(log)")
    }

    @Test func aDebian12GuestRunsInF3AndADebian11GuestInU1WithTheReason() throws {
        let world = try Self.world()
        // From an extracted tree (F3 needs one: a mounted image runs in U1).
        let bookworm = try world.srun(["-N1", "-n1"], ["--dry-run", "--stage=extract", world.debian12.reference, "--", MPIFixtures.helloPath])
        try requireSuccess(bookworm)
        #expect(bookworm.out.contains("mode: F3\n") && bookworm.out.contains("  F3: chosen"), "\(bookworm)")
        let bullseye = try world.srun(["-N1", "-n1"], ["--dry-run", "--stage=extract", world.debian11.reference, "--", MPIFixtures.helloPath])
        try requireSuccess(bullseye)
        #expect(bullseye.out.contains("mode: U1\n"), "\(bullseye)")
        #expect(bullseye.out.contains("F3: the container's glibc 2.3") && bullseye.out.contains("is older than the glibc 2.34"), "\(bullseye)")

        let run = try world.srun(["-N2", "-n4", "--mpi=pmix"], [world.debian11.reference, "--", MPIFixtures.helloPath])
        try requireSuccess(run)
        #expect(Self.ranks(run.out).map(\.0) == [0, 1, 2, 3] && Self.ranks(run.out).allSatisfy { $0.1 == 4 }, "\(run)")
    }

    @Test func u1RanksOfANodeShareOneUserNamespaceAndGetDisjointCPUs() throws {
        let world = try Self.world()
        let script = "echo $(hostname) $(readlink /proc/self/ns/user) $(grep Cpus_allowed_list /proc/self/status | cut -f2); sleep 1"
        let result = try world.srun(["-N2", "-n4"], ["--execmode=U1", world.debian12.reference, "--", "sh", "-c", script])
        try requireSuccess(result)
        let rows = result.lines.map { $0.split(separator: " ").map(String.init) }
        try #require(rows.count == 4 && rows.allSatisfy { $0.count == 3 }, "\(result)")
        for node in world.cluster.nodeNames {
            let onNode = rows.filter { $0[0] == node }
            #expect(onNode.count == 2 && onNode[0][1] == onNode[1][1], "ranks on \(node) in different namespaces: \(result)")
            #expect(Set(onNode[0][2].split(separator: ",")).isDisjoint(with: onNode[1][2].split(separator: ",")), "\(result)")
        }
        #expect(Set(rows.map { $0[1] }).count == 2, "one namespace per node expected: \(result)")
    }

    @Test func mpirunStartsTheLauncherAsItWouldTheProgram() throws {
        let world = try Self.world()
        let scratch = try world.sandbox.makeDirectory("mpirun-scratch")
        let result = try world.sandbox.run(["timeout", "-s", "KILL", "120", "mpirun", "-np", "2", world.launcher, "--scratch=" + scratch,
                                            world.debian12.reference, "--", MPIFixtures.helloPath], timeout: .seconds(150))
        try requireSuccess(result)
        #expect(Self.ranks(result.out).map { "\($0.0) of \($0.1)" } == ["0 of 2", "1 of 2"], "\(result)")
    }

    @Test func anEmulatedPBSJobStagesIntoItsTMPDIR() throws {
        let world = try Self.world()
        let jobTmp = try world.sandbox.makeDirectory("pbs-tmpdir")
        let nodeFile = world.sandbox.directory + "/pbs-nodefile"
        let host = ProcessInfo.processInfo.hostName
        try Files.write("\(host)\n\(host)\n", to: nodeFile, owner: world.sandbox.user)
        let env = ["PBS_JOBID": "4711.pbsserver", "PBS_NODEFILE": nodeFile, "PBS_O_WORKDIR": world.sandbox.home, "TMPDIR": jobTmp]
        let result = try world.sandbox.run(["timeout", "-s", "KILL", "120", "mpirun", "-np", "2", "--hostfile", nodeFile, world.launcher,
                                            world.debian12.reference, "--", MPIFixtures.helloPath], env: env, timeout: .seconds(150))
        try requireSuccess(result)
        #expect(Self.ranks(result.out).map(\.0) == [0, 1], "\(result)")
        #expect(Files.list(jobTmp + "/udocker-\(world.sandbox.user.uid)/stages").contains { $0.hasPrefix("image-") })
    }
}
