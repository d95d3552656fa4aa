import Foundation
import Testing
import TestSupport
import CommandExpectations

/// A node's stage under pressure, as the ranks of real jobs see it: `--cleanup` never removes a stage a rank runs
/// from, bad rank variables and options that will fail are refused before anything is staged, a rank that gives
/// up waiting leaves the holder's note, and a failure that will not go away is not repeated by every waiter.
@Suite struct StageRobustnessTests {
    static let image = "fixtures/busybox:latest"

    static func node(_ label: String = #function, images: [FixtureImage]? = nil) throws -> LaunchNode {
        let node = try LaunchNode(label)
        for image in try images ?? [Fixtures.busybox()] { try node.sandbox.load(image) }
        return node
    }

    // MARK: 16.7 --cleanup under running ranks

    /// Ranks arrive one after another, each running a short command, so that the node's set of running ranks
    /// empties and fills again many times: a rank that found the stage finished must never lose it to the
    /// removal the exiting ranks asked for. Each command reads the stage twice, a moment apart.
    @Test func cleanupNeverRemovesTheStageUnderARankThatFoundIt() throws {
        let node = try Self.node()
        let count = 16
        let command = ["--cleanup", Self.image, "--", "sh", "-c", "cat /etc/fixture-release; sleep 0.05; cat /etc/fixture-release"]
        let results = try node.launchStaggered(count, every: 0.06, command) { LaunchNode.slurmRank($0, of: count) }
        for result in results {
            expectSuccess(result)
            #expect(result.out == "busybox fixture\nbusybox fixture\n", "\(result)")
        }
        let events = node.stageLog.map { $0.split(separator: " ")[2] }
        #expect(events.count == count && Set(events).isSubset(of: ["staged", "reused"]), "\(node.stageLog)")
        #expect(Poll.until(timeout: .seconds(20)) { !node.stages.contains { !$0.hasPrefix(".") } }, "stage kept: \(node.stages)")
    }

    /// Two waves of ranks, each overlapping within itself: one staging per wave, every other rank reuses, and the
    /// stage is gone once the wave's last rank has exited.
    @Test func cleanupStagesOncePerWave() throws {
        let node = try Self.node()
        let count = 8
        let command = ["--cleanup", Self.image, "--", "sh", "-c", "sleep 1; cat /etc/fixture-release"]
        for wave in 1...2 {
            let results = try node.launchStaggered(count, every: 0.1, command) { LaunchNode.slurmRank($0, of: count, step: "\(wave)") }
            for result in results {
                expectSuccess(result)
                #expect(result.out == "busybox fixture\n", "\(result)")
            }
            #expect(Poll.until(timeout: .seconds(20)) { !node.stages.contains { !$0.hasPrefix(".") } }, "wave \(wave): stage kept: \(node.stages)")
            #expect(node.stageLog.filter { $0.contains(" staged ") }.count == wave, "\(node.stageLog)")
            #expect(node.stageLog.filter { $0.contains(" reused ") }.count == wave * (count - 1), "\(node.stageLog)")
        }
    }

    // MARK: 16.10 bad rank variables

    struct BadVariables: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let env: [String: String]
        let named: String
    }

    static let badVariables: [BadVariables] = [
        BadVariables(testDescription: "negative local rank", env: ["SLURM_LOCALID": "-3"], named: "SLURM_LOCALID=-3"),
        BadVariables(testDescription: "local rank not a number", env: ["SLURM_LOCALID": "abc"], named: "SLURM_LOCALID=abc"),
        BadVariables(testDescription: "local rank not below local size", env: ["SLURM_LOCALID": "2"], named: "SLURM_LOCALID=2"),
        BadVariables(testDescription: "rank not below size", env: ["SLURM_PROCID": "2"], named: "SLURM_PROCID=2"),
        BadVariables(testDescription: "no tasks", env: ["SLURM_NTASKS": "0", "SLURM_PROCID": "0", "SLURM_LOCALID": "0"], named: "SLURM_NTASKS=0"),
        BadVariables(testDescription: "rank not a number", env: ["SLURM_PROCID": "1x"], named: "SLURM_PROCID=1x"),
        BadVariables(testDescription: "tasks per node garbled", env: ["SLURM_STEP_TASKS_PER_NODE": "2(x-1)"], named: "SLURM_STEP_TASKS_PER_NODE=2(x-1)"),
        BadVariables(testDescription: "Open MPI local rank negative",
                     env: ["OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_LOCAL_RANK": "-1"],
                     named: "OMPI_COMM_WORLD_LOCAL_RANK=-1"),
    ]

    @Test(arguments: badVariables)
    func badRankVariablesAreOneLineNamingTheVariableBeforeAnythingIsStaged(_ bad: BadVariables) throws {
        let node = try Self.node("rank-" + bad.testDescription)
        let slurm = bad.env.keys.contains { $0.hasPrefix("SLURM_") }
        let env = (slurm ? LaunchNode.slurmRank(1, of: 2) : [:]).merging(bad.env) { $1 }
        for arguments in [[Self.image, "--", "true"], ["--dry-run", Self.image, "--", "true"], ["stage", Self.image]] {
            let result = try node.launch(arguments, env: env)
            expectOneLineError(result)
            #expect(result.status != 132 && result.err.contains("invalid " + bad.named), "\(result)")
        }
        #expect(node.stages.isEmpty, "staged before refusing: \(node.stages)")
    }

    // MARK: 16.11 options that will fail

    struct BadOption: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let arguments: [String]
        let message: String
    }

    static let badOptions: [BadOption] = [
        BadOption(testDescription: "negative --gpus-per-rank", arguments: ["--gpu", "--gpus-per-rank=-1"], message: "invalid --gpus-per-rank: -1"),
        BadOption(testDescription: "--gpu without a driver", arguments: ["--gpu"], message: "no NVIDIA driver on this host"),
        BadOption(testDescription: "missing volume", arguments: ["-v", "/nonexistent/dir:/data"], message: "invalid host volume path: /nonexistent/dir"),
        BadOption(testDescription: "relative -w", arguments: ["-w", "relative/dir"], message: "working directory must be absolute: relative/dir"),
        BadOption(testDescription: "-w missing in a volume", arguments: ["-v", "/etc:/hostetc", "-w", "/hostetc/no/such/dir"],
                  message: "invalid working directory: /hostetc/no/such/dir"),
        BadOption(testDescription: "-u another uid in a mode that runs only as you", arguments: ["--execmode=U1", "-u", "4242"],
                  message: "mode U1 runs only as the invoking user"),
        BadOption(testDescription: "-u with an empty group", arguments: ["-u", "1000:"], message: "invalid -u"),
        BadOption(testDescription: "S1 without apptainer", arguments: ["--execmode=S1"], message: "apptainer or singularity executable not found"),
    ]

    @Test(arguments: badOptions)
    func optionsThatWillFailAreRefusedBeforeStaging(_ bad: BadOption) throws {
        if bad.arguments.contains("--execmode=S1") {
            try #require(!["/usr/bin/apptainer", "/usr/bin/singularity"].contains(where: Files.exists), "apptainer is installed here")
        }
        let node = try Self.node("option-" + bad.testDescription)
        // An empty tree for the driver: no /proc/driver/nvidia/version there, as on a node without a GPU.
        let noDriver = try node.sandbox.makeDirectory("no-nvidia")
        let result = try node.launch(bad.arguments + [Self.image, "--", "true"], env: ["UDOCKER_NVIDIA_ROOT": noDriver])
        expectOneLineError(result)
        #expect(result.err.contains(bad.message), "\(result)")
        #expect(node.stages.isEmpty, "staged before refusing: \(node.stages)")
    }

    // MARK: 16.12 a waiter that gives up

    @Test func aWaiterThatGivesUpLeavesTheHoldersNoteForTheNext() throws {
        let node = try Self.node(images: [Fixtures.large()])
        let image = "fixtures/large:latest"
        let stager = try node.start(["--stage=extract", image, "--", "true"], env: LaunchNode.slurmRank(0, of: 3), timeout: .seconds(600))
        #expect(Poll.until(timeout: .seconds(60)) { node.stages.contains { $0.hasPrefix(".staging-") } })
        let launcher = try #require(node.processes(runningLauncherWith: image).first, "the staging launcher is not running")
        kill(launcher, SIGSTOP)
        #expect(Poll.until(timeout: .seconds(10)) { NodeStagingTests.isStopped(stager.pid) }, "runuser did not follow its child's stop")
        let notes = Files.list(node.area + "/locks").filter { $0.hasSuffix(".owner") }
        let first = try node.launch(["--stage=extract", "--stage-timeout=1", image, "--", "true"], env: LaunchNode.slurmRank(1, of: 3))
        let kept = Files.list(node.area + "/locks").filter { $0.hasSuffix(".owner") }
        let second = try node.launch(["--stage=extract", "--stage-timeout=1", image, "--", "true"], env: LaunchNode.slurmRank(2, of: 3))
        stager.kill(SIGCONT)
        #expect(notes.count == 1 && kept == notes, "the holder's note went with the first waiter: \(notes) → \(kept)")
        for waiter in [first, second] {
            expectOneLineError(waiter)
            #expect(waiter.err.contains("held by rank 0 (pid "), "\(waiter)")
        }
        expectSuccess(stager.wait())
    }

    // MARK: 16.13 a failure that will not go away

    /// Scratch is a small tmpfs (in a mount namespace of its own) that the large image does not fit in. Four ranks
    /// of one step: the first stager fails, the next tries once more and says it failed again for the same
    /// reason, and the others stop at once, saying why.
    @Test func aStagingThatRunsOutOfSpaceIsTriedTwiceNotByEveryRank() throws {
        try #require(TestUser.isRunningAsRoot, "mounting a small tmpfs for scratch needs root")
        let node = try Self.node(images: [Fixtures.large()])
        let results = try node.launchInSmallScratch(4, size: "6m", ["--stage=extract", "fixtures/large:latest", "--", "true"]) { LaunchNode.slurmRank($0, of: 4) }
        for result in results {
            #expect(result.status != 0 && result.err.hasPrefix("Error: ") && result.err.filter { $0 == "\n" }.count == 1, "\(result)")
        }
        let errors = results.map(\.err)
        #expect(errors.filter { $0.contains("No space left on device") && !$0.contains("again") }.count == 1, "\(errors)")
        #expect(errors.filter { $0.contains("failed again for the same reason") }.count == 1, "\(errors)")
        #expect(errors.filter { $0.contains("failed 2 times in this job step") && $0.contains("not tried again") }.count == 2, "\(errors)")
    }

    // MARK: 18.6 --dry-run stages nothing

    @Test func aDryRunDecidesWithoutStagingAndSaysWhatItWouldStage() throws {
        let node = try Self.node()
        let dry = try node.launch(["--stage=extract", "--dry-run", Self.image, "--", "true"])
        try requireSuccess(dry)
        #expect(node.stages.isEmpty, "a dry run staged: \(node.stages)")
        #expect(dry.out.contains("placement: would stage fixtures/busybox:latest into \(node.area)/stages/image-"), "\(dry)")
        #expect(dry.out.contains("mode: U1\n"), "\(dry)")
        // Once the node has the stage, a dry run reuses it as a rank would.
        try requireSuccess(node.launch(["stage", "--stage=extract", Self.image]))
        let staged = try node.launch(["--stage=extract", "--dry-run", Self.image, "--", "true"])
        try requireSuccess(staged)
        #expect(staged.out.contains("placement: would reuse the stage in \(node.area)/stages/image-"), "\(staged)")
        #expect(node.stageLog.map { $0.split(separator: " ")[2] } == ["staged"], "\(node.stageLog)")
    }
}

extension LaunchNode {
    /// Starts `count` launchers at once (one barrier), rank `i` exec'ing `i · every` seconds after the barrier.
    func launchStaggered(_ count: Int, every seconds: Double, _ arguments: [String],
                         env: (Int) -> [String: String]) throws -> [CommandResult] {
        let barrier = sandbox.directory + "/barrier-\(UUID().uuidString)"
        let quoted = ([launcher, "--scratch=" + scratch] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let running = try (0..<count).map { index in
            let script = "until [ -e \(barrier) ]; do sleep 0.01; done; sleep \(String(format: "%.2f", Double(index) * seconds)); exec "
                + quoted.joined(separator: " ")
            return try Command.start(["/bin/sh", "-c", script], env: sandbox.environment.merging(env(index)) { $1 },
                                     as: sandbox.user, directory: sandbox.home, timeout: .seconds(300))
        }
        try Files.write("", to: barrier)
        return running.map { $0.wait() }
    }

    /// `count` launchers at once as the test user, with this node's scratch replaced by a tmpfs of `size` in a
    /// mount namespace of their own (run as root, which mounts it). Their stdout/stderr/status come back as results.
    func launchInSmallScratch(_ count: Int, size: String, _ arguments: [String],
                              env: (Int) -> [String: String]) throws -> [(status: Int32, out: String, err: String)] {
        let outputs = try Staging.shared().makeDirectory("small-scratch-out")
        func quote(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var script = "set -u\nmount -t tmpfs -o size=\(size),mode=1777 tmpfs \(quote(scratch)) || exit 99\n"
        for index in 0..<count {
            let variables = sandbox.environment.merging(env(index)) { $1 }.sorted { $0.key < $1.key }.map { quote("\($0.key)=\($0.value)") }
            let argv = ["/usr/sbin/runuser", "-u", sandbox.user.name, "--", "/usr/bin/env", "-i", "-C", sandbox.home]
                .map(quote) + variables + ([launcher, "--scratch=" + scratch] + arguments).map(quote)
            let out = quote(outputs + "/\(index)")
            script += "( \(argv.joined(separator: " ")) > \(out).out 2> \(out).err; echo $? > \(out).rc ) &\n"
        }
        script += "wait\n"
        let result = try Command.run(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
                                     timeout: .seconds(300))
        guard result.succeeded else { throw TestSupportError("the small-scratch run failed:\n\(result)") }
        return try (0..<count).map { index in
            let base = outputs + "/\(index)"
            let status = Int32(try Files.read(base + ".rc").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            return (status, try Files.read(base + ".out"), try Files.read(base + ".err"))
        }
    }
}
