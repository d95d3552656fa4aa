import Foundation
import Testing
import TestSupport
import CommandExpectations

/// Issue 17 on the two-node SLURM: a published SquashFS on the shared file system, mounted once per node and
/// step by the step's keeper, one MPI world of 4 ranks, the nodes' scratch barely touched, and the next step and
/// the next job reuse the node's verified metadata without reading the file whole again.
@Suite(.serialized, .enabled(if: SlurmCluster.unavailableReason == nil && TestUser.isRunningAsRoot,
                             "\(SlurmCluster.unavailableReason ?? "sets /dev/fuse's mode, which needs root")"))
struct MountedClusterTests {
    /// Each rank's hello line, then "root NODE MOUNT-ID" for the mount at / as the rank sees it.
    static let script = MPIFixtures.helloPath + " && while read -r id parent dev root point rest; do "
        + "[ \"$point\" = / ] && echo \"root $(hostname) $id\"; done < /proc/self/mountinfo; true"

    @Test func fourRanksOnTwoNodesRunAPublishedSquashfsMountedOncePerNode() throws {
        let world = try ClusterLaunchTests.world()
        let sandbox = world.sandbox
        let dir = try sandbox.makeDirectory("published-mount-\(UUID().uuidString.prefix(8))")
        try requireSuccess(sandbox.run([world.launcher, "publish", "--to", dir, "--name", "mpi", world.debian12.reference]))
        let manifest = dir + "/mpi.json"
        let scratch = "/scratch/mount-" + UUID().uuidString.prefix(8).lowercased()
        for node in world.cluster.nodeNames {
            try Files.makeDirectory(world.cluster.scratch(node) + scratch.dropFirst("/scratch".count), owner: sandbox.user)
        }
        func srun() throws -> CommandResult {
            try world.cluster.srun(["-N2", "-n4", "--mpi=pmix", world.launcher, "--scratch=" + scratch, manifest, "--", "sh", "-c", Self.script],
                                   in: sandbox, timeout: .seconds(240))
        }
        func nodeScratch(_ node: String) -> String { world.cluster.scratch(node) + scratch.dropFirst("/scratch".count) }
        func stageLog(_ node: String) -> [String] {
            ((try? Files.read(nodeScratch(node) + "/udocker-\(sandbox.user.uid)/stage.log")) ?? "").split(separator: "\n").map(String.init)
        }
        let (first, grown, second, job) = try FuseDevice.with(mode: 0o666) {
            let before = try world.cluster.nodeNames.map { try MountedImageTests.kilobytes(nodeScratch($0)) }
            let first = try srun()
            let after = try world.cluster.nodeNames.map { try MountedImageTests.kilobytes(nodeScratch($0)) }
            let second = try srun()
            let job = try world.cluster.sbatch(script: """
                #!/bin/bash
                #SBATCH --nodes=2
                #SBATCH --ntasks=2
                srun \(world.launcher) --scratch=\(scratch) \(manifest) -- cat /etc/debian_version
                """, in: sandbox, timeout: .seconds(300))
            return (first, zip(before, after).map { $1 - $0 }, second, job)
        }
        try requireSuccess(first)
        let ranks = ClusterLaunchTests.ranks(first.out)
        #expect(ranks.map(\.0) == [0, 1, 2, 3] && ranks.allSatisfy { $0.1 == 4 }, "not one MPI world of 4 ranks: \(first)")
        let roots = first.lines.filter { $0.hasPrefix("root ") }.map { $0.split(separator: " ").map(String.init) }
        #expect(roots.count == 4, "\(first)")
        for node in world.cluster.nodeNames {
            let ids = Set(roots.filter { $0[1] == node }.map { $0[2] })
            #expect(ids.count == 1, "the ranks on \(node) saw \(ids.count) mounts at /: \(first)")
            let log = stageLog(node)
            #expect(log.filter { $0.contains(" staged ") && $0.contains("-mount ") }.count == 1, "\(node): \(log)")
        }
        let imageSize = try MountedImageTests.kilobytes(dir)
        #expect(grown.allSatisfy { $0 < 1024 }, "the nodes' scratch grew by \(grown) KiB for a \(imageSize) KiB image")
        try requireSuccess(second)
        #expect(ClusterLaunchTests.ranks(second.out).count == 4, "\(second)")
        #expect(job.state == "COMPLETED" && job.output.split(separator: "\n").filter { $0.hasPrefix("12.") }.count == 2, "\(job)")
        for node in world.cluster.nodeNames {
            let log = stageLog(node)
            #expect(log.filter { $0.contains(" staged ") }.count == 1, "the next step or job staged again on \(node): \(log)")
            #expect(log.filter { $0.contains(" reused ") }.count == 4, "\(node): \(log)")
        }
    }
}
