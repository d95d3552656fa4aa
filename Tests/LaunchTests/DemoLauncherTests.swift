import Foundation
import Testing
import TestSupport
import CommandExpectations

/// `make demo`'s launcher part (examples/demo-mpi.sh, 18.2), run as a user would run it, against the built
/// programs: two ranks of one mpirun job each print their hello line from the Debian 12 container, the dry run
/// says the mode and why, and one rank stages while the other reuses; a second run starts at the job.
@Suite struct DemoLauncherTests {
    /// The script and the hello source it builds, copied where the test user can read them, with a cache that
    /// holds the Debian 12 Open MPI root the tests already made (the same mmdebstrap packages), so that the test
    /// does not build it again.
    static func demo(_ sandbox: Sandbox) throws -> (script: String, cache: String) {
        let examples = try sandbox.makeDirectory("examples")
        try Files.makeDirectory(examples + "/mpi", owner: sandbox.user)
        try Files.copy(Staging.packageRoot + "/examples/demo-mpi.sh", to: examples + "/demo-mpi.sh", mode: 0o755)
        try Files.copy(Staging.packageRoot + "/examples/mpi/hello.c", to: examples + "/mpi/hello.c", mode: 0o644)
        let cache = try sandbox.makeDirectory("demo-cache")
        let rootfs = try DebianRootfs.tarball("bookworm", including: ["libopenmpi3", "openmpi-bin"])
        try FileManager.default.createSymbolicLink(atPath: cache + "/bookworm-openmpi.tar", withDestinationPath: rootfs)
        return (examples + "/demo-mpi.sh", cache)
    }

    static func expectTwoRanksOneStagedOneReused(_ result: CommandResult) {
        for rank in 0..<2 {
            #expect(result.out.contains("\nhello from rank \(rank) of 2 on "), "rank \(rank) did not say hello: \(result)")
        }
        let lines = result.out.split(separator: "\n")
        #expect(lines.filter { $0.contains(" staged image-") }.count == 1, "\(result)")
        // An extraction takes seconds, so the other rank waits for it; a mounted image's stage is its metadata only.
        #expect(lines.filter { $0.contains(" reused image-") && ($0.contains("-mount ") || $0.hasSuffix(" after-wait")) }.count == 1, "\(result)")
    }

    @Test func theDemoRunsTwoRanksThroughTheLauncherStagingOnceAndReusingOnce() throws {
        let sandbox = try Sandbox()
        let (script, cache) = try Self.demo(sandbox)
        let argv = [script, sandbox.staging.udocker, sandbox.staging.udockerLaunch, cache]

        let first = try sandbox.run(argv, timeout: .seconds(600))
        try requireSuccess(first)
        Self.expectTwoRanksOneStagedOneReused(first)
        #expect(first.out.contains("== udocker import "), "\(first)")
        // The dry run: the mode with the reason for it, and nothing staged before the job.
        #expect(first.out.contains("\nmode: ") && first.out.contains(": chosen\n"), "\(first)")
        // Mounted where FUSE works (the test world's /dev/fuse is 0666, as on Debian), else extracted.
        #expect((first.out.contains("placement: would mount ") && first.out.contains("nothing mounted"))
                || (first.out.contains("placement: would stage demo/debian-mpi:12 into ") && first.out.contains("nothing staged")), "\(first)")

        let second = try sandbox.run(argv, timeout: .seconds(600))
        try requireSuccess(second)
        Self.expectTwoRanksOneStagedOneReused(second)
        #expect(!second.out.contains("== udocker import") && !second.out.contains("== mmdebstrap") && !second.out.contains("== mpicc"),
                "the second run built again: \(second)")
    }
}
