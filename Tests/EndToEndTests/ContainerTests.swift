import Foundation
import Testing
import TestSupport
import CommandExpectations
import UdockerCore

/// Containers through the binary: create, ps, inspect, names, clone, export/import, protect, rm.
@Suite struct ContainerTests {
    @Test func createIsListedByPsWithModeAndSize() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        let id = try sandbox.createContainer("listed", from: image)

        let ps = try sandbox.udocker("ps")
        expectSuccess(ps)
        #expect(ps.lines.count == 2 && ps.lines[0].hasPrefix("CONTAINER ID"), "\(ps)")
        #expect(ps.lines.last?.hasPrefix("\(id) . W ") == true && ps.lines.last?.contains("['listed']") == true
                && ps.lines.last?.contains(image.reference) == true, "\(ps)")

        let modeAndSize = try sandbox.udocker("ps", "-m", "-s")
        let fields = try #require(modeAndSize.lines.last?.split(separator: " ", omittingEmptySubsequences: true).map(String.init))
        #expect(modeAndSize.lines.first?.contains("MOD SIZE") == true, "\(modeAndSize)")
        #expect(fields.count > 5 && fields[3] == "P1" && (Int(fields[4]) ?? 0) >= 1, "\(modeAndSize)")

        try requireSuccess(sandbox.udocker("setup", "--execmode=P2", "listed"))
        #expect(try sandbox.udocker("ps", "-m").lines.last?.split(separator: " ")[3] == "P2")
    }

    @Test func inspectShowsTheConfigurationAndTheRootPath() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.createContainer("looked-at", from: Fixtures.busybox())
        let json = try sandbox.udocker("inspect", "looked-at")
        try requireSuccess(json)
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any], "\(json)")
        #expect((object["config"] as? [String: Any])?["WorkingDir"] as? String == BusyboxFixture.workingDir)

        let path = try sandbox.udocker("inspect", "-p", "looked-at")
        try requireSuccess(path)
        let root = path.out.trimmingCharacters(in: .newlines)
        #expect(root == sandbox.repositoryPath("containers/\(id)/ROOT"))
        #expect(Files.exists(root + "/bin/busybox"))
    }

    @Test func namesCanBeAddedRemovedAndRenamed() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.createContainer("first", from: Fixtures.busybox())
        try requireSuccess(sandbox.udocker("name", id, "alias"))
        #expect(try sandbox.runIn("alias", ["/bin/echo", "via alias"]).out == "via alias\n")
        let both = try sandbox.udocker("ps").lines.last ?? ""
        #expect(both.contains("'alias'") && both.contains("'first'"), "\(both)")

        try requireSuccess(sandbox.udocker("rmname", "alias"))
        #expect(try sandbox.udocker("ps").lines.last?.contains("['first']") == true)
        expectOneLineError(try sandbox.runIn("alias", ["/bin/true"]))

        try requireSuccess(sandbox.udocker("rename", "first", "second"))
        #expect(try sandbox.runIn("second", ["/bin/echo", "renamed"]).out == "renamed\n")
        expectOneLineError(try sandbox.runIn("first", ["/bin/true"]))
        #expect(try sandbox.listedContainers() == [id])
    }

    @Test func cloneCopiesTheContainerAsItIsNow() throws {
        let sandbox = try Sandbox()
        let original = try sandbox.createContainer("original", from: Fixtures.busybox())
        try requireSuccess(sandbox.shell("original", "echo before clone > /data/marker"))
        let result = try sandbox.udocker("clone", "--name=copy", "original")
        try requireSuccess(result)
        let copy = result.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(copy != original && copy.split(separator: "-").count == 5, "\(result)")
        #expect(Set(try sandbox.listedContainers()) == [original, copy])

        try requireSuccess(sandbox.shell("original", "echo after clone > /data/marker"))
        #expect(try sandbox.shell("copy", "cat /data/marker").out == "before clone\n")
        #expect(try sandbox.runIn("copy", []).out == BusyboxFixture.cmdOutput, "the clone keeps the image metadata")
    }

    @Test func exportedFilesImportAsAnImageOrAContainer() throws {
        let sandbox = try Sandbox()
        try sandbox.createContainer("source", from: Fixtures.busybox())
        try requireSuccess(sandbox.shell("source", "echo exported > /data/marker"))
        let file = sandbox.directory + "/export.tar"
        try requireSuccess(sandbox.udocker("export", "-o", file, "source"))
        let listing = try Command.run(["tar", "-tf", file]).lines
        #expect(listing.contains { $0.hasSuffix("data/marker") } && listing.contains { $0.hasSuffix("bin/busybox") }, "\(listing.prefix(20))")

        // As an image: one layer, no metadata, so the command is given.
        try requireSuccess(sandbox.udocker("import", file, "fixtures/imported:v1"))
        #expect(try sandbox.listedImages().contains("fixtures/imported:v1"))
        try requireSuccess(sandbox.udocker("create", "--name=from-import", "fixtures/imported:v1"))
        #expect(try sandbox.shell("from-import", "cat /data/marker").out == "exported\n")

        // Straight into a container.
        let direct = try sandbox.udocker("import", "--tocontainer", "--name=direct", file)
        try requireSuccess(direct)
        #expect(try sandbox.shell("direct", "cat /data/marker").out == "exported\n")
    }

    @Test func exportAndImportThroughPipes() throws {
        let sandbox = try Sandbox()
        try sandbox.createContainer("source", from: Fixtures.busybox())
        let exported = try sandbox.udocker("export", "-", "source")
        try requireSuccess(exported)
        #expect(try Command.run(["tar", "-tf", "-"], stdin: exported.stdout).lines.contains { $0.hasSuffix("etc/fixture-release") })

        try requireSuccess(sandbox.udocker(["import", "-", "fixtures/piped:v1"], stdin: exported.stdout))
        try requireSuccess(sandbox.udocker("create", "--name=piped", "fixtures/piped:v1"))
        #expect(try sandbox.runIn("piped", ["/bin/cat", "/etc/fixture-release"]).out == "busybox fixture\n")
    }

    @Test func protectedContainersCannotBeRemoved() throws {
        let sandbox = try Sandbox()
        let id = try sandbox.createContainer("kept", from: Fixtures.busybox())
        try requireSuccess(sandbox.udocker("protect", "kept"))
        #expect(try sandbox.udocker("ps").lines.last?.hasPrefix("\(id) P ") == true)
        expectOneLineError(try sandbox.udocker("rm", "kept"))
        #expect(try sandbox.listedContainers() == [id])

        try requireSuccess(sandbox.udocker("unprotect", "kept"))
        try requireSuccess(sandbox.udocker("rm", "kept"))
        #expect(try sandbox.listedContainers().isEmpty)
        #expect(Files.list(sandbox.repositoryPath("containers")).filter { !$0.hasPrefix(".") }.isEmpty,
                "rm leaves neither the container nor its names")
    }

    /// 25 components of 200 bytes: deeper than PATH_MAX, so no path string reaches the bottom. Everything that walks
    /// a container must work on descriptors: clone, export, setup --purge and rm.
    @Test func pathsDeeperThanPathMaxAreClonedExportedAndRemoved() throws {
        let sandbox = try Sandbox()
        let deep = Array(repeating: String(repeating: "d", count: 200), count: 25).joined(separator: "/")
        let layer = sandbox.directory + "/deep.tar"
        let fd = open(layer, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let writer = try TarWriter(descriptor: fd)
        try writer.add(.file(deep + "/bottom", "at the bottom\n"))
        try writer.add(.symlink(deep + "/absolute", to: "/etc/passwd"))
        try writer.finish()
        close(fd)
        try requireSuccess(sandbox.udocker("import", layer, "fixtures/deep:1"))
        try requireSuccess(sandbox.udocker("create", "--name=deep", "fixtures/deep:1"))
        try requireSuccess(sandbox.udocker("clone", "--name=deep-copy", "deep"))
        let exported = sandbox.directory + "/deep-export.tar"
        try requireSuccess(sandbox.udocker("export", "-o", exported, "deep-copy"))
        #expect(try Command.run(["tar", "-tf", exported]).lines.contains { $0.hasSuffix("/bottom") })
        try requireSuccess(sandbox.udocker("setup", "--purge", "deep"))
        try requireSuccess(sandbox.udocker("rm", "deep", "deep-copy"))
        #expect(try sandbox.listedContainers().isEmpty)
        try sandbox.expectConsistentRepository()
    }

    @Test func rmOfTheLastContainerKeepsTheImage() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.createContainer("one", from: image)
        let blobs = sandbox.blobs()
        try requireSuccess(sandbox.udocker("rm", "one"))
        #expect(try sandbox.listedImages() == [image.reference])
        #expect(sandbox.blobs() == blobs)
    }
}
