import Foundation
import Testing
import TestSupport
import CommandExpectations

/// Staging on one node: many ranks at once stage once, a later step reuses, a killed stager leaves nothing that
/// looks finished, a stuck one is named by the rank that gave up waiting, and `clean`/`--cleanup` never remove a
/// stage in use. The busybox fixture stands in for an image on the shared file system.
@Suite struct NodeStagingTests {
    static let image = "fixtures/busybox:latest"

    static func node(_ label: String = #function, images: [FixtureImage]) throws -> LaunchNode {
        let node = try LaunchNode(label)
        for image in images { try node.sandbox.load(image) }
        return node
    }

    @Test func sixteenRanksStartingTogetherStageOnce() throws {
        let node = try Self.node(images: [Fixtures.busybox()])
        let results = try node.launchTogether(16, ["--stage=extract", Self.image, "--", "cat", "/etc/fixture-release"]) { LaunchNode.slurmRank($0, of: 16) }
        for result in results { expectSuccess(result); #expect(result.out == "busybox fixture\n", "\(result)") }
        #expect(node.stageLog.filter { $0.contains(" staged ") }.count == 1, "\(node.stageLog)")
        #expect(node.stageLog.filter { $0.contains(" reused ") }.count == 15, "\(node.stageLog)")
        #expect(node.stages.count == 1, "\(node.stages)")
    }

    @Test func aLaterStepReusesTheStageWithoutStagingAgain() throws {
        let node = try Self.node(images: [Fixtures.busybox()])
        try requireSuccess(node.launch(["--stage=extract", Self.image, "--", "true"], env: LaunchNode.slurmRank(0, of: 1, step: "0")))
        let stage = node.area + "/stages/" + node.stages[0] + "/stage.done"
        let stamp = try Files.read(stage)
        try requireSuccess(node.launch(["--stage=extract", Self.image, "--", "true"], env: LaunchNode.slurmRank(0, of: 1, step: "1")))
        #expect(node.stageLog.filter { $0.contains(" staged ") }.count == 1)
        #expect(node.stageLog.last?.contains(" reused ") == true, "\(node.stageLog)")
        #expect(try Files.read(stage) == stamp)
    }

    @Test func aModeAskedForGetsItsOwnStageAndTheNodesStageIsNeverChanged() throws {
        let node = try Self.node(images: [Fixtures.busybox()])
        try requireSuccess(node.launch(["--stage=extract", Self.image, "--", "true"]))
        let base = try #require(node.stages.first)
        let done = try Files.read(node.area + "/stages/" + base + "/stage.done")
        // The node's stage was set up for U1 (the auto choice for a static guest): asking for U1 reuses it.
        try requireSuccess(node.launch(["--stage=extract", "--execmode=U1", Self.image, "--", "true"]))
        #expect(node.stages == [base])
        let p1 = try node.launch(["--stage=extract", "--execmode=P1", Self.image, "--", "cat", "/etc/fixture-release"])
        try requireSuccess(p1)
        #expect(p1.out == "busybox fixture\n")
        #expect(node.stages.sorted() == [base, base + "-P1"], "\(node.stages)")
        #expect(try Files.read(node.area + "/stages/" + base + "/stage.done") == done)
    }

    @Test func aStagerKilledHalfWayLeavesNothingFinishedAndTheNextRankStagesAnew() throws {
        let node = try Self.node(images: [Fixtures.large()])
        let image = "fixtures/large:latest"
        let stager = try node.start(["--stage=extract", image, "--", "true"])
        #expect(Poll.until(timeout: .seconds(60)) { node.stages.contains { $0.hasPrefix(".staging-") } }, "staging never started")
        stager.kill(SIGKILL)
        _ = stager.wait()
        #expect(!node.stages.contains { !$0.hasPrefix(".") }, "a killed stager left a stage: \(node.stages)")

        let next = try node.launch(["--stage=extract", image, "--", "sh", "-c", "ls /many/d99 | wc -l"])
        try requireSuccess(next)
        #expect(next.out.trimmingCharacters(in: .whitespacesAndNewlines) == "100", "\(next)")
        #expect(node.stageLog.filter { $0.contains(" staged ") }.count == 1, "\(node.stageLog)")
        #expect(node.stages.filter { $0.hasPrefix(".") }.isEmpty, "leftovers not reclaimed: \(node.stages)")
    }

    @Test func aRankThatWaitsTooLongNamesTheHolder() throws {
        let node = try Self.node(images: [Fixtures.large()])
        let image = "fixtures/large:latest"
        // The whole suite runs beside it on two cores: extracting 10,000 files may take minutes then.
        let stager = try node.start(["--stage=extract", image, "--", "true"], env: LaunchNode.slurmRank(0, of: 2), timeout: .seconds(600))
        #expect(Poll.until(timeout: .seconds(60)) { node.stages.contains { $0.hasPrefix(".staging-") } })
        // Stop the launcher, then wait for runuser above it to stop itself too (as su does when its child stops):
        // continuing the group before that would leave runuser stopped for good.
        let launcher = try #require(node.processes(runningLauncherWith: image).first, "the staging launcher is not running")
        kill(launcher, SIGSTOP)
        #expect(Poll.until(timeout: .seconds(10)) { Self.isStopped(stager.pid) }, "runuser did not follow its child's stop")
        let waiter = try node.launch(["--stage=extract", "--stage-timeout=1", image, "--", "true"], env: LaunchNode.slurmRank(1, of: 2))
        stager.kill(SIGCONT)
        expectOneLineError(waiter)
        #expect(waiter.err.contains("waiting for the stage lock") && waiter.err.contains("held by rank 0 (pid "), "\(waiter)")
        expectSuccess(stager.wait())
    }

    static func isStopped(_ pid: pid_t) -> Bool {
        ((try? Files.read("/proc/\(pid)/stat")) ?? "").split(separator: ")").last?.split(separator: " ").first == "T"
    }

    @Test func cleanRemovesStagesNotInUseAndKeepsTheOneARankRuns() throws {
        let node = try Self.node(images: [Fixtures.busybox(), Fixtures.busyboxExtra()])
        try requireSuccess(node.launch(["--stage=extract", "fixtures/busybox-extra:latest", "--", "true"]))
        let running = try node.start(["--stage=extract", Self.image, "--", "sleep", "30"])
        #expect(Poll.until(timeout: .seconds(30)) { node.stageLog.count == 2 })
        let clean = try node.launch(["clean"])
        running.kill(SIGKILL)
        _ = running.wait()
        try requireSuccess(clean)
        #expect(clean.lines.filter { $0.hasPrefix("removed ") }.count == 1, "\(clean)")
        #expect(clean.lines.filter { $0.hasPrefix("in use, kept ") }.count == 1, "\(clean)")
        #expect(node.stages.count == 1)
        let again = try node.launch(["clean", "--older-than=1h"])
        #expect(again.out.contains("removed") == false && node.stages.count == 1, "\(again)")
        try requireSuccess(node.launch(["clean"]))
        #expect(node.stages.isEmpty, "\(node.stages)")
    }

    @Test func cleanupRemovesTheStageOnceTheLastRankHasExited() throws {
        let node = try Self.node(images: [Fixtures.busybox()])
        let results = try node.launchTogether(2, ["--stage=extract", "--cleanup", Self.image, "--", "sleep", "1"]) { LaunchNode.slurmRank($0, of: 2) }
        for result in results { expectSuccess(result) }
        #expect(Poll.until(timeout: .seconds(20)) { !node.stages.contains { !$0.hasPrefix(".") } }, "stage kept: \(node.stages)")
    }

    @Test func theStageCommandStagesAndARunReusesIt() throws {
        let node = try Self.node(images: [Fixtures.busybox()])
        let stage = try node.launch(["stage", "--stage=extract", Self.image])
        try requireSuccess(stage)
        #expect(stage.lines.count == 2 && stage.lines[0].hasPrefix("staged in \(node.area)/stages/image-")
                && stage.lines[0].hasSuffix(", mode U1"), "\(stage)")
        // The image's SquashFS, built once into the repository ahead of the job (issue 17).
        let squashfs = node.sandbox.repositoryPath("squashfs/")
        #expect(stage.lines.last?.hasPrefix("built the SquashFS " + squashfs + "sha256:") == true
                && stage.lines.last?.hasSuffix(".sqfs") == true, "\(stage)")
        try requireSuccess(node.launch(["--stage=extract", Self.image, "--", "true"]))
        #expect(node.stageLog.map { $0.split(separator: " ")[2] } == ["staged", "reused"], "\(node.stageLog)")
        let again = try node.launch(["stage", "--stage=extract", Self.image])
        #expect(again.lines.last?.hasSuffix(".sqfs (built before)") == true, "\(again)")
    }
}
