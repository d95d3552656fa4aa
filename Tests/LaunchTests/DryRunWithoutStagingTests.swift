import Foundation
import Testing
import TestSupport
import CommandExpectations

/// `--dry-run` on a login node (18.6): it decides — placement, mode and reasons, MPI, CPUs, command — without
/// writing a stage, says what it would stage, how large and where, and decides as the staged run then does.
@Suite struct DryRunWithoutStagingTests {
    /// The host-built MPI hello bound at its own path, as hpc.md's first example runs it.
    static func helloArguments(_ image: FixtureImage) throws -> [String] {
        let hello = try MPIFixtures.native().hello
        let directory = (hello as NSString).deletingLastPathComponent
        return ["-v", directory + ":" + directory, image.reference, "--", hello]
    }

    /// The dry run's lines with the placement (which says would stage / would reuse) left out.
    static func decision(_ out: String) -> [String] {
        out.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("placement: ") }
    }

    @Test func aDryRunOnAnUnstagedImageDecidesWithoutStagingAndAgreesWithTheStagedRun() throws {
        let node = try LaunchNode()
        let image = try MPIFixtures.debian12()
        try node.sandbox.load(image)
        let arguments = try Self.helloArguments(image)

        let unstaged = try node.launch(["--dry-run", "--stage=extract"] + arguments)
        try requireSuccess(unstaged)
        let placement = unstaged.out.split(separator: "\n").first { $0.hasPrefix("placement: ") }.map(String.init) ?? ""
        #expect(placement.hasPrefix("placement: would stage \(image.reference) into \(node.area)/stages/image-"), "\(unstaged)")
        #expect(placement.contains(" MB in ") && placement.contains(" files)"), "\(unstaged)")
        #expect(placement.contains("nothing staged"), "\(unstaged)")
        #expect(unstaged.out.contains("\nmode: ") && unstaged.out.contains(": chosen"), "\(unstaged)")
        #expect(node.stages.isEmpty, "the dry run wrote into the stage area: \(node.stages)")
        #expect(!Files.list(node.area).contains { $0.hasPrefix(".probe-") }, "the dry run left its probe: \(Files.list(node.area))")
        #expect(node.stageLog.isEmpty, "\(node.stageLog)")

        try requireSuccess(node.launch(["stage", "--stage=extract", image.reference]))
        let staged = try node.launch(["--dry-run", "--stage=extract"] + arguments)
        try requireSuccess(staged)
        #expect(staged.out.contains("placement: would reuse the stage in \(node.area)/stages/image-"), "\(staged)")
        // Mode with its reasons, MPI verdicts, CPUs and the command, paths included: as decided from the stage.
        #expect(Self.decision(unstaged.out) == Self.decision(staged.out), "unstaged:\n\(unstaged.out)\nstaged:\n\(staged.out)")
        #expect(node.stageLog.filter { $0.contains(" staged ") }.count == 1, "\(node.stageLog)")
    }

    @Test func aDryRunOfAContainerToBeStagedReadsItsTreeAndWritesNothing() throws {
        let node = try LaunchNode()
        try node.sandbox.load(Fixtures.busybox())
        try requireSuccess(node.sandbox.udocker("create", "--name=box", "fixtures/busybox:latest"))
        let result = try node.launch(["--dry-run", "--stage=always", "box", "--", "true"])
        try requireSuccess(result)
        #expect(result.out.contains("placement: would stage "), "\(result)")
        #expect(result.out.contains("decided from its tree in the repository"), "\(result)")
        #expect(result.out.contains("mode: U1\n"), "\(result)")
        #expect(node.stages.isEmpty, "\(node.stages)")
    }

    @Test func aDryRunOfAPublishedContainerReadsTheVerifiedArchiveAndWritesNoStage() throws {
        let node = try LaunchNode()
        try node.sandbox.load(Fixtures.busybox())
        let dir = try node.sandbox.makeDirectory("published")
        try requireSuccess(node.sandbox.run([node.launcher, "publish", "--to", dir, "--name", "bb", "fixtures/busybox:latest"]))
        let result = try node.launch(["--stage=extract", "--dry-run", dir + "/bb.json", "--", "cat", "/etc/fixture-release"])
        try requireSuccess(result)
        #expect(result.out.contains("placement: would stage \(dir)/bb@") && result.out.contains(" into \(node.area)/stages/published-"), "\(result)")
        #expect(result.out.contains("read from the archive into a temporary directory"), "\(result)")
        // The published .sqfs (the default format) is probed as an archive is: its files counted, most left out.
        #expect(!result.out.contains(" in 0 files)") && !result.out.contains("decided from 0 of its files"), "\(result)")
        #expect(result.out.contains("\nmode: "), "\(result)")
        #expect(node.stages.isEmpty, "\(node.stages)")
        #expect(!Files.list(node.area).contains { $0.hasPrefix(".probe-") }, "\(Files.list(node.area))")
    }
}
