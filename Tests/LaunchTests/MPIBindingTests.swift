import Foundation
import Testing
import TestSupport
import CommandExpectations

/// `--mpi` on the real thing: the two-node SLURM, the host's Open MPI 4.1.4 and MPICH 4.0.2, and Debian images with
/// their own MPI. Each rank of the probe (`MPIFixtures.mapsPath`) prints the device and inode of the MPI library
/// its process mapped, which tells the host's file from the container's.
@Suite(.serialized, .enabled(if: SlurmCluster.unavailableReason == nil, "\(SlurmCluster.unavailableReason ?? "")"))
struct MPIBindingTests {
    final class World: Sendable {
        let cluster: SlurmCluster
        let sandbox: Sandbox
        let debian12: FixtureImage

        init() throws {
            cluster = try SlurmCluster.shared()
            sandbox = try Sandbox("mpi-binding")
            debian12 = try MPIFixtures.debian12()
            try sandbox.load(debian12)
            // A scratch directory of this suite's own on each node: other suites read the node's stage log.
            for node in cluster.nodeNames { try Files.makeDirectory(cluster.scratch(node) + "/mpi-binding", mode: 0o1777) }
        }

        func srun(_ srunArguments: [String], _ launchArguments: [String], env: [String: String] = [:]) throws -> CommandResult {
            try cluster.srun(srunArguments + [sandbox.staging.udockerLaunch, "--scratch=/scratch/mpi-binding"] + launchArguments,
                             in: sandbox, env: env, timeout: .seconds(240))
        }

        func load(_ image: FixtureImage) throws -> FixtureImage {
            try sandbox.load(image)
            return image
        }
    }

    static let shared = OnceValue<World>()
    static func world() throws -> World { try shared.get { try World() } }

    /// One probe line: rank, size, and the device (major, minor) and inode of the MPI library mapped.
    struct Mapped: Equatable {
        var rank: Int, size: Int, device: [Int], inode: UInt64, path: String

        static func parse(_ output: String) -> [Mapped] {
            output.split(separator: "\n").compactMap { line in
                let words = line.split(separator: " ").map(String.init)
                guard words.count == 8, words[0] == "rank", words[4] == "maps", let rank = Int(words[1]), let size = Int(words[3]),
                      let inode = UInt64(words[6]) else { return nil }
                return Mapped(rank: rank, size: size, device: words[5].split(separator: ":").compactMap { Int($0, radix: 16) },
                              inode: inode, path: words[7])
            }.sorted { $0.rank < $1.rank }
        }

        func isFile(_ host: String) -> Bool {
            var info = stat()
            guard stat(host, &info) == 0 else { return false }
            // glibc's major() and minor(), which Swift does not import.
            let dev = UInt64(info.st_dev)
            let major = (dev >> 8) & 0xfff | (dev >> 32) & ~UInt64(0xfff), minor = dev & 0xff | (dev >> 12) & ~UInt64(0xff)
            return device == [Int(major), Int(minor)] && inode == UInt64(info.st_ino)
        }
    }

    static let hostOpenMPI = "/usr/lib/x86_64-linux-gnu/libmpi.so.40"
    static let hostMPICH = "/usr/lib/x86_64-linux-gnu/libmpich.so.12"

    /// One world of `size` ranks, each mapping the host's `library` (or, with `host: false`, another file).
    static func expectOneWorld(_ result: CommandResult, size: Int, library: String, host: Bool) {
        let mapped = Mapped.parse(result.out)
        #expect(mapped.map(\.rank) == Array(0..<size) && mapped.allSatisfy { $0.size == size }, "not one world of \(size): \(result)")
        #expect(mapped.allSatisfy { $0.isFile(library) == host }, "\(host ? "not" : "") the host's \(library): \(result)")
    }

    /// The rank exited 1 with one `Error: …` line naming `rule` (srun adds lines of its own); returns that line.
    @discardableResult
    static func expectRefusal(_ result: CommandResult, rule: String) -> String {
        let errors = result.errLines.filter { $0.hasPrefix("Error: ") }
        #expect(result.status == 1 && errors.count == 1 && errors[0].contains("refused by the \(rule) rule"), "\(result)")
        return errors.first ?? ""
    }

    @Test(arguments: ["F3", "U1", "R1"])
    func hostMPIRunsOneWorldOfRanksThatMapTheHostsLibrary(mode: String) throws {
        let world = try Self.world()
        let result = try world.srun(["-N2", "-n4", "--mpi=pmix"], ["--mpi=host", "--execmode=" + mode, world.debian12.reference,
                                                                   "--", MPIFixtures.mapsPath])
        try requireSuccess(result)
        Self.expectOneWorld(result, size: 4, library: Self.hostOpenMPI, host: true)
    }

    @Test(arguments: ["F3", "U1", "R1"])
    func containerMPIRunsOneWorldOfRanksThatMapTheContainersLibrary(mode: String) throws {
        let world = try Self.world()
        let result = try world.srun(["-N2", "-n4", "--mpi=pmix"], ["--mpi=container", "--execmode=" + mode, world.debian12.reference,
                                                                   "--", MPIFixtures.mapsPath])
        try requireSuccess(result)
        Self.expectOneWorld(result, size: 4, library: Self.hostOpenMPI, host: false)
    }

    @Test func theLaunchersDefaultBindsTheHostsMPIWhenTheChecksPassAndPrintsEachVerdict() throws {
        let world = try Self.world()
        let dry = try world.srun(["-N1", "-n1"], ["--dry-run", world.debian12.reference, "--", MPIFixtures.mapsPath])
        try requireSuccess(dry)
        #expect(dry.out.contains("mpi: host (--mpi=auto)\n"), "\(dry)")
        for rule in ["family", "soname", "version", "glibc", "machine"] {
            #expect(dry.out.contains("  \(rule): passed: "), "no verdict of the \(rule) rule: \(dry)")
        }
    }

    /// `udocker run` under srun: ranks of one job by default, udocker 1.3's singletons with --mpi=none.
    @Test func udockerRunUnderSrunJoinsTheJobUnlessMPIIsNone() throws {
        let world = try Self.world()
        let create = try world.sandbox.udocker(["create", "--name=run-mpi", world.debian12.reference])
        try #require(create.succeeded, "\(create)")
        try #require(world.sandbox.udocker(["setup", "--execmode=F3", "run-mpi"]).succeeded)
        let udocker = world.sandbox.staging.udocker
        let joined = try world.cluster.srun(["-N1", "-n2", "--mpi=pmix", udocker, "run", "--nobanner", "run-mpi", MPIFixtures.mapsPath],
                                            in: world.sandbox, timeout: .seconds(120))
        try requireSuccess(joined)
        Self.expectOneWorld(joined, size: 2, library: Self.hostOpenMPI, host: false)
        let singletons = try world.cluster.srun(["-N1", "-n2", "--mpi=pmix", udocker, "run", "--nobanner", "--mpi=none", "run-mpi",
                                                 MPIFixtures.mapsPath], in: world.sandbox, timeout: .seconds(120))
        // Without the process manager each rank is a singleton of its own. Two Open MPI 4.1 singletons starting at
        // once on a node may race for their session directory (/tmp/ompi.NODE.UID: "File exists") and one then
        // aborts: what matters is that none joined a job of 2.
        let ranks = Mapped.parse(singletons.out).map { "\($0.rank) of \($0.size)" }
        #expect(!ranks.isEmpty && ranks.allSatisfy { $0 == "0 of 1" }, "\(singletons)")
        let host = try world.cluster.srun(["-N1", "-n2", "--mpi=pmix", udocker, "run", "--nobanner", "--mpi=host", "run-mpi",
                                           MPIFixtures.mapsPath], in: world.sandbox, timeout: .seconds(120))
        try requireSuccess(host)
        Self.expectOneWorld(host, size: 2, library: Self.hostOpenMPI, host: true)
    }

    @Test func openMPI5ImageIsRefusedByTheVersionRuleAndRunsWithItsOwnMPI() throws {
        let world = try Self.world()
        let trixie = try world.load(MPIFixtures.debian13())
        let refused = try world.srun(["-N1", "-n1"], ["--mpi=host", trixie.reference, "--", MPIFixtures.mapsPath])
        let line = Self.expectRefusal(refused, rule: "version")
        #expect(line.contains("Open MPI 4.1.4") && line.contains("the container's 5."), "\(refused)")
        let own = try world.srun(["-N2", "-n2", "--mpi=pmix"], ["--mpi=container", trixie.reference, "--", MPIFixtures.mapsPath])
        try requireSuccess(own)
        Self.expectOneWorld(own, size: 2, library: Self.hostOpenMPI, host: false)
        let dry = try world.srun(["-N1", "-n1"], ["--dry-run", trixie.reference, "--", MPIFixtures.mapsPath])
        #expect(dry.out.contains("mpi: container (--mpi=auto)") && dry.out.contains("  version: refused: "), "\(dry)")
    }

    @Test func debian11ImageIsRefusedByTheGlibcRule() throws {
        let world = try Self.world()
        let bullseye = try world.load(MPIFixtures.debian11())
        let refused = try world.srun(["-N1", "-n1"], ["--mpi=host", bullseye.reference, "--", MPIFixtures.mapsPath])
        let line = Self.expectRefusal(refused, rule: "glibc")
        // Debian 12's libevent and libstdc++ need GLIBC_2.36; Debian 11's glibc 2.31 defines versions up to GLIBC_2.30.
        #expect(line.contains("need GLIBC_2.36 (lib") && line.contains("provides up to GLIBC_2.30"), "\(refused)")
    }

    @Test func mpichImageIsRefusedByTheFamilyRuleAgainstOpenMPIAndBindsTheHostsMPICH() throws {
        let world = try Self.world()
        let mpich = try world.load(MPIFixtures.debian12MPICH())
        let refused = try world.srun(["-N1", "-n1"], ["--mpi=host", mpich.reference, "--", MPIFixtures.mapsPath])
        let line = Self.expectRefusal(refused, rule: "family")
        #expect(line.contains("host Open MPI 4.1.4") && line.contains("container MPICH ABI"), "\(refused)")

        // Debian's alternatives set to MPICH (`update-alternatives --set mpirun /usr/bin/mpirun.mpich`), for this user only.
        let bin = try world.sandbox.makeDirectory("mpich-bin")
        for name in ["mpirun", "mpiexec"] {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + name, withDestinationPath: "/usr/bin/\(name).mpich")
        }
        let path = bin + ":" + (world.sandbox.environment["PATH"] ?? "/usr/bin:/bin")
        // Extracted (F3): the harness's two nodes are one machine, so MPICH's UCX takes the ranks for neighbours and
        // tries shared memory between them, which two nodes' U1 namespaces (a mounted image's) do not share.
        let bound = try world.srun(["-N2", "-n2", "--mpi=pmi2"], ["--stage=extract", "--mpi=host", mpich.reference, "--", MPIFixtures.mapsPath],
                                   env: ["PATH": path])
        try requireSuccess(bound)
        Self.expectOneWorld(bound, size: 2, library: Self.hostMPICH, host: true)
    }
}
