import Foundation
import Testing
import TestSupport
import CommandExpectations

/// `udocker-launch publish` and staging from a published container on one node: the archive is verified as it is
/// streamed, a broadcast copy in scratch is preferred, and publishing anew (or being killed half-way) never
/// disturbs the version jobs use.
@Suite struct PublishTests {
    /// A node whose repository holds `images`, and a directory to publish into.
    static func world(_ label: String = #function, images: [FixtureImage]) throws -> (LaunchNode, String) {
        let node = try LaunchNode(label)
        for image in images { try node.sandbox.load(image) }
        return (node, try node.sandbox.makeDirectory("published"))
    }

    /// A tar.gz unless the arguments ask for a format: most of these tests read or change the archive's bytes.
    static func publish(_ node: LaunchNode, _ arguments: [String]) throws -> CommandResult {
        let format = arguments.contains { $0.hasPrefix("--format") } ? [] : ["--format=tar.gz"]
        return try node.sandbox.run([node.launcher, "publish"] + format + arguments)
    }

    @Test func aPublishedContainerIsListedWorldReadableAndRunsFromItsStage() throws {
        let (node, dir) = try Self.world(images: [Fixtures.busybox()])
        let published = try Self.publish(node, ["--to", dir, "--name", "bb", "fixtures/busybox:latest"])
        try requireSuccess(published)
        let listed = try node.sandbox.run([node.launcher, "published", dir])
        try requireSuccess(listed)
        #expect(listed.lines.count == 2 && listed.lines[0] == "NAME\tIMAGE\tMODE\tSIZE\tCREATED\tARCHIVE"
                && listed.lines[1].hasPrefix("bb\tfixtures/busybox:latest\tauto\t"), "\(listed)")
        for file in Files.list(dir) where !file.hasPrefix(".") {
            var st = stat()
            stat(dir + "/" + file, &st)
            #expect(st.st_mode & 0o777 == 0o644, "\(file) has mode \(String(st.st_mode & 0o777, radix: 8))")
        }
        let run = try node.launch([dir + "/bb.json", "--", "cat", "/etc/fixture-release"])
        try requireSuccess(run)
        #expect(run.out == "busybox fixture\n", "\(run)")
        #expect(node.stages.filter { $0.hasPrefix("published-") }.count == 1, "\(node.stages)")
        let again = try node.launch([dir + "/bb.json", "--", "true"])
        try requireSuccess(again)
        #expect(node.stageLog.map { $0.split(separator: " ")[2] } == ["staged", "reused"], "\(node.stageLog)")
    }

    /// `--format=squashfs`: the .sqfs is mounted (U1, the launcher's choice where FUSE works: MountedImageTests),
    /// or, for a published mode such as P1, extracted (libsquashfs) and set up on the node for that mode.
    @Test(arguments: [[], ["--execmode", "P1"]])
    func aPublishedSquashfsRunsFromItsStage(_ mode: [String]) throws {
        let (node, dir) = try Self.world(images: [Fixtures.busybox()])
        let published = try Self.publish(node, ["--to", dir, "--name", "bb", "--format=squashfs"] + mode + ["fixtures/busybox:latest"])
        try requireSuccess(published)
        let sqfs = try #require(Files.list(dir).first { $0.hasSuffix(".sqfs") }, "\(Files.list(dir))")
        #expect(published.out.contains(dir + "/" + sqfs), "\(published)")
        let run = try node.launch([dir + "/bb.json", "--", "cat", "/etc/fixture-release"])
        try requireSuccess(run)
        #expect(run.out == "busybox fixture\n", "\(run)")
        let again = try node.launch([dir + "/bb.json", "--", "true"])
        try requireSuccess(again)
        #expect(node.stageLog.map { $0.split(separator: " ")[2] } == ["staged", "reused"], "\(node.stageLog)")
        let dry = try node.launch(["--dry-run", dir + "/bb.json", "--", "true"])
        try requireSuccess(dry)
        if !mode.isEmpty { #expect(dry.out.contains("P1"), "\(dry)") }
    }

    /// F3 from a .sqfs: the patching `publish` does for a tar.gz is done on the node, at the stage's path.
    @Test func aPublishedSquashfsIsSetUpForF3OnTheNode() throws {
        let (node, dir) = try Self.world(images: [MPIFixtures.debian12()])
        try requireSuccess(Self.publish(node, ["--to", dir, "--name", "mpi", "--format=squashfs", "--execmode", "F3", "fixtures/debian-mpi:12"]))
        let run = try node.launch([dir + "/mpi.json", "--", "cat", "/etc/debian_version"])
        try requireSuccess(run)
        #expect(run.out.hasPrefix("12"), "\(run)")
        let dry = try node.launch(["--dry-run", dir + "/mpi.json", "--", "true"])
        #expect(dry.out.contains("F3"), "\(dry)")
    }

    @Test func aCorruptedArchiveIsRefusedWithADigestErrorAndNothingIsLeftStaged() throws {
        let (node, dir) = try Self.world(images: [Fixtures.busybox()])
        try requireSuccess(Self.publish(node, ["--to", dir, "--name", "bb", "fixtures/busybox:latest"]))
        let archive = dir + "/" + (try #require(Files.list(dir).first { $0.hasSuffix(".tar.gz") }))
        // One byte changed near the end (the gzip trailer): extraction alone might not notice, the digest does.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        bytes[bytes.count - 3] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        let run = try node.launch([dir + "/bb.json", "--", "true"])
        expectOneLineError(run)
        #expect(run.err.contains("digest") && run.err.contains("refused"), "\(run)")
        #expect(node.stages.isEmpty, "left in the stage area: \(node.stages)")
    }

    @Test func theLauncherStagesFromTheBroadcastCopyInScratch() throws {
        let (node, dir) = try Self.world(images: [Fixtures.busybox()])
        try requireSuccess(Self.publish(node, ["--to", dir, "--name", "bb", "fixtures/busybox:latest"]))
        let archiveName = try #require(Files.list(dir).first { $0.hasSuffix(".tar.gz") })
        // Where the job's broadcast step puts it: the directory `broadcast-dir` makes (and prints) on each node.
        let broadcast = try node.launch(["broadcast-dir"])
        try requireSuccess(broadcast)
        try requireSuccess(node.sandbox.run(["cp", dir + "/" + archiveName, broadcast.out.trimmingCharacters(in: .newlines) + "/" + archiveName]))
        // The shared copy gone: only the one in scratch (as sbcast leaves it) can be staged from.
        try requireSuccess(node.sandbox.run(["mv", dir + "/" + archiveName, dir + "/moved-away"]))
        let run = try node.launch([dir + "/" + archiveName, "--", "cat", "/etc/fixture-release"])
        try requireSuccess(run)
        #expect(run.out == "busybox fixture\n", "\(run)")
    }

    @Test func publishingAnewKeepsThePreviousVersionForJobsThatPinnedIt() throws {
        let (node, dir) = try Self.world(images: [Fixtures.busybox(), Fixtures.busyboxExtra()])
        try requireSuccess(Self.publish(node, ["--to", dir, "--name", "bb", "fixtures/busybox:latest"]))
        let pinned = try node.sandbox.run([node.launcher, "published", "--archive", dir + "/bb.json"])
        try requireSuccess(pinned)
        try requireSuccess(Self.publish(node, ["--to", dir, "--name", "bb", "fixtures/busybox-extra:latest"]))
        let current = try node.sandbox.run([node.launcher, "published", "--archive", dir + "/bb.json"])
        #expect(current.out != pinned.out, "\(current)")
        let old = try node.launch([pinned.out.trimmingCharacters(in: .newlines), "--", "cat", "/etc/fixture-release"])
        try requireSuccess(old)
        #expect(old.out == "busybox fixture\n", "\(old)")
        // A third publish drops the first version: the current and the one before are kept.
        try requireSuccess(Self.publish(node, ["--to", dir, "--name", "bb", "fixtures/busybox:latest"]))
        #expect(Files.list(dir).filter { $0.hasSuffix(".tar.gz") }.count == 2, "\(Files.list(dir))")
    }

    @Test func aPublishKilledHalfWayLeavesThePreviousVersionUsableAndNothingPartialListed() throws {
        let (node, dir) = try Self.world(images: [Fixtures.busybox(), Fixtures.large()])
        try requireSuccess(Self.publish(node, ["--to", dir, "--name", "app", "fixtures/busybox:latest"]))
        let before = try Files.read(dir + "/app.json")
        let publisher = try Command.start([node.launcher, "publish", "--format=tar.gz", "--to", dir, "--name", "app", "fixtures/large:latest"],
                                          env: node.sandbox.environment, as: node.sandbox.user, directory: node.sandbox.home,
                                          timeout: .seconds(120))
        #expect(Poll.until(timeout: .seconds(60)) { Files.list(dir).contains { $0.hasPrefix(".app.publish-") } }, "publish never started")
        publisher.kill(SIGKILL)
        _ = publisher.wait()
        #expect(try Files.read(dir + "/app.json") == before)
        let listed = try node.sandbox.run([node.launcher, "published", dir])
        #expect(listed.lines.count == 2 && listed.lines[1].hasPrefix("app\tfixtures/busybox:latest\t"), "\(listed)")
        let run = try node.launch([dir + "/app.json", "--", "cat", "/etc/fixture-release"])
        try requireSuccess(run)
        #expect(run.out == "busybox fixture\n", "\(run)")
        // The next publish of the name removes what the killed one left.
        try requireSuccess(Self.publish(node, ["--to", dir, "--name", "app", "fixtures/busybox:latest"]))
        #expect(!Files.list(dir).contains { $0.hasPrefix(".app.publish-") }, "\(Files.list(dir))")
    }
}
