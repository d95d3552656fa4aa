import Foundation
import Testing
import TestSupport
import CommandExpectations

/// One node's ranks as a user sees them: the mode chosen and why, one namespace for the step, disjoint CPUs, the
/// command's exit status and stdin, and one-line errors that leave nothing staged.
@Suite struct RankLaunchTests {
    static let image = "fixtures/busybox:latest"

    static func node(_ label: String = #function) throws -> LaunchNode {
        let node = try LaunchNode(label)
        try node.sandbox.load(Fixtures.busybox())
        return node
    }

    @Test func dryRunSaysWhyFasterModesWerePassedOver() throws {
        let node = try Self.node()
        let result = try node.launch(["--stage=extract", "--dry-run", Self.image, "--", "true"])
        try requireSuccess(result)
        // A static busybox guest has no loader for libfakechroot: F3 is passed over, U1 taken.
        #expect(result.out.contains("F3: the container has no dynamically linked programs"), "\(result)")
        #expect(result.out.contains("mode: U1\n") && result.out.contains("U1: chosen"), "\(result)")
    }

    @Test func theRanksOfAStepShareOneUserNamespaceUnlessJoinIsNo() throws {
        let node = try Self.node()
        // The ranks overlap in time, as MPI ranks do (they wait for each other in MPI_Init).
        let command = ["--stage=extract", Self.image, "--", "sh", "-c", "readlink /proc/self/ns/user; sleep 1"]
        let shared = try node.launchTogether(2, command) { LaunchNode.slurmRank($0, of: 2, job: "1") }
        for result in shared { expectSuccess(result) }
        #expect(Set(shared.map(\.out)).count == 1 && shared[0].out.hasPrefix("user:["), "\(shared)")
        let own = try node.launchTogether(2, ["--join=no"] + command) { LaunchNode.slurmRank($0, of: 2, job: "2") }
        for result in own { expectSuccess(result) }
        #expect(Set(own.map(\.out)).count == 2, "\(own)")
        #expect(!own.map(\.out).contains(shared[0].out))
    }

    @Test func localRanksGetDisjointCPUsAndABindingAlreadySetIsKept() throws {
        let node = try Self.node()
        let command = [Self.image, "--", "grep", "Cpus_allowed_list", "/proc/self/status"]
        let results = try node.launchTogether(2, command) { LaunchNode.slurmRank($0, of: 2) }
        let sets = results.map { Set(($0.out.split(separator: "\t").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ",").map(String.init)) }
        for result in results { expectSuccess(result) }
        #expect(sets.count == 2 && sets[0].isDisjoint(with: sets[1]) && !sets[0].isEmpty, "\(results)")

        let last = String(sysconf(Int32(_SC_NPROCESSORS_ONLN)) - 1)
        let kept = try node.sandbox.run(["taskset", "-c", last, node.launcher, "--scratch=" + node.scratch] + command,
                                        env: LaunchNode.slurmRank(0, of: 2))
        try requireSuccess(kept)
        #expect(kept.out.hasSuffix("\t\(last)\n"), "\(kept)")
    }

    @Test func theCommandsExitStatusStdinAndArgumentsPassThrough() throws {
        let node = try Self.node()
        let result = try node.sandbox.run([node.launcher, "--scratch=" + node.scratch, Self.image, "--", "sh", "-c",
                                           "read line; echo \"got $line and $1\"; exit 3", "sh", "an argument"],
                                          stdin: Data("hello\n".utf8))
        #expect(result.status == 3 && result.out == "got hello and an argument\n", "\(result)")
    }

    @Test func theProcessManagersVariablesReachTheCommand() throws {
        let node = try Self.node()
        let env = LaunchNode.slurmRank(0, of: 1).merging(["PMIX_RANK": "0", "OMPI_MCA_btl": "self", "UNRELATED": "x"]) { $1 }
        let result = try node.launch(["--stage=extract", Self.image, "--", "sh", "-c", "echo $SLURM_PROCID $PMIX_RANK $OMPI_MCA_btl ${UNRELATED:-unset}"], env: env)
        try requireSuccess(result)
        #expect(result.out == "0 0 self unset\n", "\(result)")
    }

    @Test func aContainerRunsInPlaceOrFromItsOwnStagedCopy() throws {
        let node = try Self.node()
        try requireSuccess(node.sandbox.udocker("create", "--name=box", Self.image))
        let inPlace = try node.launch(["--stage=extract", "--stage=never", "box", "--", "sh", "-c", "echo in place > /inplace.txt"])
        try requireSuccess(inPlace)
        let staged = try node.launch(["--stage=extract", "--stage=always", "box", "--", "sh", "-c", "cat /inplace.txt; echo staged > /tmp/staged.txt"])
        try requireSuccess(staged)
        #expect(staged.out == "in place\n", "\(staged)")
        let repository = try node.sandbox.udocker("run", "--nobanner", "box", "sh", "-c", "ls /tmp/staged.txt 2>&1 || true")
        #expect(repository.out.contains("No such file"), "a staged run wrote into the repository's container: \(repository)")
    }

    @Test func withGPUsEachRankSeesItsOwnDeviceAndTheHostsDriver() throws {
        let node = try Self.node()
        let driver = try Staging.shared().makeDirectory("fake-nvidia")
        try FakeNvidiaDriver.complete(at: driver)
        try Files.makeWorldReadable(driver)
        // As under `srun --gpus=2`: the step's GPUs are in CUDA_VISIBLE_DEVICES; the launcher shares them out.
        let env = { (rank: Int) in LaunchNode.slurmRank(rank, of: 2).merging(["CUDA_VISIBLE_DEVICES": "0,1", "UDOCKER_NVIDIA_ROOT": driver]) { $1 } }
        let results = try node.launchTogether(2, ["--stage=extract", "--gpu", "--gpus-per-rank=1", Self.image, "--", "sh", "-c",
                                                  "echo $CUDA_VISIBLE_DEVICES; ls /.udocker/nvidia/lib/libcuda.so.1"], env: env)
        for result in results { expectSuccess(result) }
        #expect(Set(results.map(\.out)) == ["0\n/.udocker/nvidia/lib/libcuda.so.1\n", "1\n/.udocker/nvidia/lib/libcuda.so.1\n"], "\(results)")

        let dryRun = try node.launch(["--stage=extract", "--dry-run", "--gpu", "--gpus-per-rank=1", "--bind=gpu", Self.image, "--", "true"], env: env(1))
        try requireSuccess(dryRun)
        #expect(dryRun.out.contains("gpus: CUDA_VISIBLE_DEVICES=1\n") && dryRun.out.contains("nvidia: the host driver is bound"), "\(dryRun)")
        // No GPU on this machine for hwloc to place: --bind=gpu says so and pins by core.
        #expect(dryRun.out.contains("no GPU locality known, by core"), "\(dryRun)")

        let tooMany = try node.launch(["--stage=extract", "--gpu", "--gpus-per-rank=3", Self.image, "--", "true"], env: env(1))
        expectOneLineError(tooMany)
        #expect(tooMany.err.contains("local rank 1 needs GPUs 3-5 of the node, but only 2 are visible (0,1)"), "\(tooMany)")
    }

    @Test func aContainerOnANodeLocalRepositoryRunsInPlaceByDefault() throws {
        let node = try Self.node()
        try requireSuccess(node.sandbox.udocker("create", "--name=box", Self.image))
        // What coreutils says the repository's file system is, independently of the launcher's own statfs table.
        let type = try Command.run(["stat", "-f", "-c", "%T", node.sandbox.udockerDir]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let local = ["ext2/ext3", "xfs", "btrfs", "tmpfs", "overlayfs", "zfs"].contains(type)
        let result = try node.launch(["--dry-run", "box", "--", "true"])
        try requireSuccess(result)
        #expect(result.out.contains(local ? "placement: in place (the repository is on node-local" : "placement: would stage "),
                "\(type): \(result)")
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let arguments: [String]
        let message: String
    }

    static let badInputs: [BadInput] = [
        BadInput(testDescription: "unknown image", arguments: ["nosuch/image:1", "--", "true"], message: "no container or image named nosuch/image:1"),
        BadInput(testDescription: "unknown container", arguments: ["nosuchcontainer", "--", "true"], message: "no container or image named nosuchcontainer"),
        BadInput(testDescription: "unknown --bind", arguments: ["--bind=socket", image, "--", "true"], message: "invalid --bind: socket"),
        BadInput(testDescription: "unknown --stage", arguments: ["--stage=sometimes", image, "--", "true"], message: "invalid --stage: sometimes"),
        BadInput(testDescription: "--stage=never with an image", arguments: ["--stage=never", image, "--", "true"], message: "--stage=never needs a container"),
        BadInput(testDescription: "unknown --execmode", arguments: ["--execmode=Z9", image, "--", "true"], message: "invalid execution mode: Z9"),
        BadInput(testDescription: "command not in the container", arguments: [image, "--", "/no/such/program"], message: "command not found"),
    ]

    @Test(arguments: badInputs)
    func badInputIsOneLineAndStagesNothingHalfWay(_ input: BadInput) throws {
        let node = try Self.node("bad-" + input.testDescription)
        let result = try node.launch(input.arguments)
        expectOneLineError(result)
        #expect(result.err.contains(input.message), "\(result)")
        #expect(!node.stages.contains { $0.hasPrefix(".") }, "half-staged: \(node.stages)")
    }

    @Test func aScratchThatIsNotWritableIsNamed() throws {
        let node = try Self.node()
        let readOnly = try Staging.shared().makeDirectory("read-only-scratch")   // owned by root, 0755
        let result = try node.sandbox.run([node.launcher, "--scratch=" + readOnly, Self.image, "--", "true"])
        expectOneLineError(result)
        #expect(result.err.contains("--scratch: directory is not writable: \(readOnly)"), "\(result)")
    }

    /// GPU locality (`--bind=gpu`) comes from hwloc's PCI plugin, which resolves hwloc's own functions from the
    /// libhwloc udocker opened: loaded RTLD_LOCAL, every plugin failed with an undefined symbol and the GPUs of a
    /// node went unseen. The plugins udocker never uses are left out.
    @Test func hwlocLoadsItsPCIPluginAndLeavesOutTheUnusedOnes() throws {
        let pciPlugin = "/usr/lib/x86_64-linux-gnu/hwloc/hwloc_pci.so"
        try #require(Files.exists(pciPlugin), "\(pciPlugin) is missing: install libhwloc-plugins (Open MPI depends on it)")
        let node = try Self.node()
        let result = try node.launch(["info"], env: LaunchNode.slurmRank(0, of: 2, job: "78").merging(["HWLOC_PLUGINS_VERBOSE": "1"]) { $1 })
        try requireSuccess(result)
        #expect(result.err.contains("Plugin descriptor `hwloc_pci' ready"), "\(result)")
        #expect(!result.err.contains("Failed to load plugin"), "\(result)")
        #expect(result.err.contains("Plugin `hwloc_xml_libxml' is blacklisted"), "\(result)")
    }

    @Test func infoReportsTheRankAndEachLocalRanksCPUs() throws {
        let node = try Self.node()
        let result = try node.launch(["info", "--json"], env: LaunchNode.slurmRank(1, of: 2, job: "77"))
        try requireSuccess(result)
        let json = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let rank = try #require(json["rank"] as? [String: Any])
        #expect(rank["rank"] as? Int == 1 && rank["localSize"] as? Int == 2 && rank["jobID"] as? String == "77", "\(result)")
        let cpus = try #require(json["localRankCPUs"] as? [[String: Any]])
        #expect(cpus.count == 2 && cpus[0]["cpus"] as? String != cpus[1]["cpus"] as? String, "\(result)")
        #expect((json["scratch"] as? String) == node.area)
    }
}
