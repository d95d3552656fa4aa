import Foundation
import Testing
import TestSupport
import CommandExpectations

/// An operation killed part-way (SIGKILL: no clean-up of its own) leaves nothing `ps` or `images` lists, and the
/// next command that changes the repository reclaims its temporaries. A temporary whose owner still runs is
/// never touched.
@Suite struct InterruptedOperationsTests {
    @Test func killedCreateLeavesNoContainer() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.large()
        try sandbox.load(image)
        let containers = sandbox.repositoryPath("containers")

        let create = try sandbox.startUdocker(["create", "--name=interrupted", image.reference])
        // Wait until the big layer is being extracted into a hidden directory, then kill.
        let extracting = Poll.until(timeout: .seconds(30), interval: .milliseconds(2)) {
            Files.list(containers).contains { $0.hasPrefix(".") && Files.exists(containers + "/" + $0 + "/ROOT/many") }
        }
        create.kill(SIGKILL)
        let result = create.wait()
        try #require(extracting, "create was never seen extracting into a hidden directory\n\(result)")
        #expect(result.status == 128 + SIGKILL, "\(result)")

        #expect(try sandbox.listedContainers().isEmpty)
        let visible = Files.list(containers).filter { !$0.hasPrefix(".") }
        #expect(visible.isEmpty, "visible leftovers: \(visible)")
        #expect(Files.list(containers).contains { $0.hasPrefix(".create-") }, "the kill should have left a temporary")

        // The repository still works: the same create now succeeds, and takes the dead one's temporary away.
        let id = try sandbox.createContainer("interrupted", from: image)
        #expect(try sandbox.listedContainers() == [id])
        try sandbox.expectConsistentRepository()
    }

    @Test func killedLoadIsReclaimed() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.large()
        let load = try startStalled(sandbox, feeding: image.dockerArchive, ["load"])
        try killWhenSeen(load, sandbox.repositoryPath("layers"), prefix: ".load-") { !Files.list($0).isEmpty }
        try sandbox.load(image)
        try sandbox.expectConsistentRepository()
    }

    @Test func killedImportIsReclaimed() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.large()
        let importing = try startStalled(sandbox, feeding: image.dockerArchive, ["import", "-", "fixtures/imported:1"])
        try killWhenSeen(importing, sandbox.repositoryPath("layers"), prefix: ".import-") { Files.size($0 + "/layer") > 0 }
        try requireSuccess(sandbox.udocker("import", image.dockerArchive, "fixtures/imported:1"))
        try sandbox.expectConsistentRepository()
    }

    @Test func killedRmIsReclaimed() throws {
        let sandbox = try Sandbox()
        try sandbox.createContainer("doomed", from: Fixtures.large())
        let rm = try sandbox.startUdocker(["rm", "doomed"])
        try killWhenSeen(rm, sandbox.repositoryPath("containers"), prefix: ".rm-") { _ in true }
        #expect(try sandbox.listedContainers().isEmpty)
        try sandbox.createContainer("next", from: Fixtures.large())
        try sandbox.expectConsistentRepository()
    }

    @Test func aTemporaryInUseIsNeverReclaimed() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        let fifo = sandbox.directory + "/feed"
        try #require(mkfifo(fifo, 0o666) == 0 && chmod(fifo, 0o666) == 0)
        let load = try Command.start(["/bin/sh", "-c", "exec \"$@\" < \"$0\"", fifo, sandbox.staging.udocker, "load"],
                                     env: sandbox.environment, as: sandbox.user, directory: sandbox.home)
        let archive = try Data(contentsOf: URL(fileURLWithPath: image.dockerArchive))
        let feed = try #require(FileHandle(forWritingAtPath: fifo))
        try feed.write(contentsOf: archive.prefix(archive.count / 2))
        let layers = sandbox.repositoryPath("layers")
        var found: String?
        _ = Poll.until(timeout: .seconds(30)) {
            found = Files.list(layers).first { $0.hasPrefix(".load-") }
            return found != nil
        }
        let staging = try #require(found, "the load never made its staging directory")

        // Meanwhile a command that reclaims what dead commands left: the live load's staging stays.
        let tarball = sandbox.directory + "/small.tar"
        try Files.write(CraftedArchive.layer("meanwhile"), to: tarball)
        try requireSuccess(sandbox.udocker("import", tarball, "fixtures/meanwhile:1"))
        #expect(Files.exists(layers + "/" + staging), "the running load's staging directory was taken away")

        try feed.write(contentsOf: archive.dropFirst(archive.count / 2))
        try feed.close()
        let loaded = load.wait()
        expectSuccess(loaded)
        #expect(try sandbox.listedImages() == [image.reference, "fixtures/meanwhile:1"])
        try sandbox.expectConsistentRepository()
    }

    /// Starts `udocker ARGUMENTS` reading half of `file` on stdin, then nothing more until it is killed.
    private func startStalled(_ sandbox: Sandbox, feeding file: String, _ arguments: [String]) throws -> RunningCommand {
        let half = Files.size(file) / 2
        return try Command.start(["/bin/sh", "-c", "{ head -c \(half) \"$0\"; sleep 600; } | exec \"$@\"", file,
                                  sandbox.staging.udocker] + arguments,
                                 env: sandbox.environment, as: sandbox.user, directory: sandbox.home)
    }

    /// Kills `command` once `directory` holds a `prefix…` temporary for which `ready` holds, and checks that the
    /// kill left it there (what the next command must reclaim).
    private func killWhenSeen(_ command: RunningCommand, _ directory: String, prefix: String,
                              ready: (String) -> Bool) throws {
        let seen = Poll.until(timeout: .seconds(30), interval: .milliseconds(2)) {
            Files.list(directory).contains { $0.hasPrefix(prefix) && ready(directory + "/" + $0) }
        }
        command.kill(SIGKILL)
        let result = command.wait()
        try #require(seen, "no \(prefix) temporary was seen\n\(result)")
        #expect(Files.list(directory).contains { $0.hasPrefix(prefix) }, "the kill should have left a temporary")
    }
}
