import Foundation
import Testing
import TestSupport
import CommandExpectations

/// `udocker-launch --gpu` over a CDI spec for nvidia.com/gpu (TestSupport's FakeCDIVendor under that kind): with
/// `--gpus-per-rank=1` each local rank gets its own GPU's devices, also when the step's ranks share one U1
/// namespace, the case pyxis#73 gets wrong: the namespace holds every GPU of the step, and only the rank's own
/// device's env (and library path, from its update-ldcache hook) selects its share.
@Suite struct CDILaunchTests {
    static let image = "fixtures/busybox:latest"

    /// Prints the rank's user namespace, its GPU variables, the GPU directories bound and the links their
    /// create-symlinks hooks made (in the namespace's layer: the stage's ROOT is read-only).
    static let report = "readlink /proc/self/ns/user; env | grep -E '^(EXGPU[A-Z0-9_]*|CUDA_VISIBLE_DEVICES|LD_LIBRARY_PATH)=' | sort; "
        + "ls /opt/exgpu; for i in 0 1; do [ -L /opt/exgpu/$i/libexgpu.so ] && echo \"link $i\"; done; sleep 1"

    static func expected(rank: Int, bound: [Int]) -> [String] {
        ["CUDA_VISIBLE_DEVICES=\(rank)", "EXGPU_\(rank)=yes", "EXGPU_VENDOR=example", "EXGPU_VISIBLE=\(rank)",
         "LD_LIBRARY_PATH=/opt/exgpu/\(rank)"] + bound.map(String.init) + bound.map { "link \($0)" }
    }

    @Test func twoRanksSharingOneU1NamespaceEachSeeOnlyTheirOwnGPU() throws {
        let node = try LaunchNode()
        try node.sandbox.load(Fixtures.busybox())
        let vendor = try FakeCDIVendor(at: try Staging.shared().makeDirectory("cdi-nvidia"), kind: "nvidia.com/gpu",
                                       nodesAtHostPaths: true, unknownHook: false)
        try Files.makeWorldReadable(vendor.directory)
        // As under `srun --gpus=2`: the step's two GPUs in CUDA_VISIBLE_DEVICES, shared out by the launcher.
        let env = { (rank: Int) in LaunchNode.slurmRank(rank, of: 2).merging(["CUDA_VISIBLE_DEVICES": "0,1"]) { $1 } }
        let flags = ["--gpu", "--gpus-per-rank=1", "--execmode=U1", "--cdi-spec-dir=" + vendor.specDirectory]

        let shared = try node.launchTogether(2, flags + [Self.image, "--", "sh", "-c", Self.report], env: env)
        for result in shared { expectSuccess(result) }
        #expect(shared[0].lines.first?.hasPrefix("user:[") == true && shared[0].lines.first == shared[1].lines.first,
                "the ranks did not share one namespace: \(shared)")
        for rank in 0..<2 {
            #expect(Array(shared[rank].lines.dropFirst()) == Self.expected(rank: rank, bound: [0, 1]), "rank \(rank): \(shared[rank])")
        }

        let dryRun = try node.launch(["--dry-run"] + flags + [Self.image, "--", "true"], env: env(1))
        #expect(dryRun.status == 0 && dryRun.out.contains("gpus: CUDA_VISIBLE_DEVICES=1\nnvidia: by CDI, nvidia.com/gpu=1 "
                                                           + "(the namespace binds the step's GPUs)\n"), "\(dryRun)")

        // Each rank in its own namespace binds only its own GPU.
        let own = try node.launchTogether(2, flags + ["--join=no", Self.image, "--", "sh", "-c", Self.report]) { rank in
            env(rank).merging(["SLURM_JOB_ID": "101"]) { $1 }
        }
        for result in own { expectSuccess(result) }
        #expect(own[0].lines.first != own[1].lines.first, "\(own)")
        for rank in 0..<2 {
            #expect(Array(own[rank].lines.dropFirst()) == Self.expected(rank: rank, bound: [rank]), "rank \(rank): \(own[rank])")
        }
    }
}
