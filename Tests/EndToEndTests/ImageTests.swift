import Foundation
import Testing
import TestSupport
import CommandExpectations

/// Images through the binary: every archive form loads (from a file and from stdin), is listed, creates a
/// container that runs; tags share blobs and `rmi` removes only what no tag uses; protect, inspect, verify, save.
@Suite struct ImageTests {
    /// How an archive reaches `load`.
    enum LoadSource: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case dockerSaveFile, dockerSaveStdin, skopeoArchiveFile, ociFile, ociStdin
        var testDescription: String { rawValue }

        func arguments(_ image: FixtureImage) -> (arguments: [String], stdin: String?) {
            switch self {
            case .dockerSaveFile: return (["load", "-i", image.dockerArchive], nil)
            case .dockerSaveStdin: return (["load"], image.dockerArchive)
            case .skopeoArchiveFile: return (["load", "-i", image.skopeoArchive], nil)
            // An OCI layout's tag annotation ("latest") names no repository: the repository is given, as in 1.3.
            case .ociFile: return (["load", "-i", image.ociArchive, image.name], nil)
            case .ociStdin: return (["load", "-i", "-", image.name], image.ociArchive)
            }
        }
    }

    @Test(arguments: LoadSource.allCases)
    func loadsListsCreatesAndRuns(source: LoadSource) throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        let (arguments, stdinFile) = source.arguments(image)
        let stdin = try stdinFile.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let loaded = try sandbox.udocker(arguments, stdin: stdin)
        try requireSuccess(loaded)
        #expect(loaded.out.contains(image.reference), "load should name what it loaded\n\(loaded)")

        let images = try sandbox.udocker("images")
        #expect(images.lines.contains("\(image.reference)    ."), "\(images)")
        let long = try sandbox.udocker("images", "-l")
        #expect(long.lines.filter { $0.hasPrefix("    /") }.count == 3, "three layers expected\n\(long)")
        let platform = try sandbox.udocker("images", "-p")
        #expect(platform.lines.contains { $0.hasPrefix("linux/amd64 ") && $0.hasSuffix(" . \(image.reference)") }, "\(platform)")

        try requireSuccess(sandbox.udocker("create", "--name=c", image.reference))
        let run = try sandbox.runIn("c", [])
        expectSuccess(run)
        #expect(run.out == BusyboxFixture.cmdOutput)
    }

    @Test func loadingTheSameImageTwiceKeepsOneCopy() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        let blobs = sandbox.blobs()
        _ = try sandbox.udocker("load", "-i", image.dockerArchive)
        #expect(try sandbox.listedImages() == [image.reference])
        #expect(sandbox.blobs() == blobs)
    }

    @Test func sharedBlobsStayUntilTheLastImageUsingThemIsRemoved() throws {
        let sandbox = try Sandbox()
        let base = try Fixtures.busybox(), extra = try Fixtures.busyboxExtra()
        try sandbox.load(base)
        let baseBlobs = sandbox.blobs()
        try sandbox.load(extra)
        let allBlobs = sandbox.blobs()
        #expect(allBlobs.isSuperset(of: baseBlobs) && allBlobs.count > baseBlobs.count, "extra should add blobs, reuse the rest")

        try requireSuccess(sandbox.udocker("rmi", extra.reference))
        #expect(sandbox.blobs() == baseBlobs, "rmi of the derived image must keep the shared blobs")
        #expect(try sandbox.listedImages() == [base.reference])

        try requireSuccess(sandbox.udocker("rmi", base.reference))
        #expect(sandbox.blobs().isEmpty)
        #expect(try sandbox.listedImages().isEmpty)
    }

    @Test func aTagSharesEveryBlob() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        let blobs = sandbox.blobs()
        try requireSuccess(sandbox.udocker("tag", image.reference, "fixtures/other:v2"))
        #expect(try sandbox.listedImages() == ["fixtures/busybox:latest", "fixtures/other:v2"])
        #expect(sandbox.blobs() == blobs)

        try requireSuccess(sandbox.udocker("rmi", image.reference))
        #expect(sandbox.blobs() == blobs)
        try requireSuccess(sandbox.udocker("create", "--name=from-tag", "fixtures/other:v2"))
        #expect(try sandbox.runIn("from-tag", []).out == BusyboxFixture.cmdOutput)
        try requireSuccess(sandbox.udocker("rmi", "fixtures/other:v2"))
        #expect(sandbox.blobs().isEmpty)
    }

    /// `nest:1` is stored in repos/nest/1/, which is also the repository directory of `nest/1`: neither name may
    /// replace or hide the other, in either order.
    @Test func aNameNeverReplacesOrHidesAnotherImage() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        try requireSuccess(sandbox.udocker("tag", image.reference, "nest/1:2"))
        let replacing = try sandbox.udocker("tag", image.reference, "nest:1")
        expectOneLineError(replacing)
        #expect(replacing.err.contains("nest:1 collides with repository nest/1"), "\(replacing)")
        expectSuccess(try sandbox.udocker("verify", "nest/1:2"))

        try requireSuccess(sandbox.udocker("tag", image.reference, "other:1"))
        let hiding = try sandbox.udocker("tag", image.reference, "other/1:2")
        expectOneLineError(hiding)
        #expect(hiding.err.contains("other/1:2 collides with image other:1"), "\(hiding)")
        try requireSuccess(sandbox.udocker("rmi", "other:1"))
        #expect(try sandbox.listedImages() == [image.reference, "nest/1:2"])
        try sandbox.expectConsistentRepository()
    }

    @Test func protectedImagesCannotBeRemoved() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        try requireSuccess(sandbox.udocker("protect", image.reference))
        #expect(try sandbox.udocker("images").lines.contains("\(image.reference)    P"))
        expectOneLineError(try sandbox.udocker("rmi", image.reference))
        #expect(try sandbox.listedImages() == [image.reference])

        try requireSuccess(sandbox.udocker("unprotect", image.reference))
        #expect(try sandbox.udocker("images").lines.contains("\(image.reference)    ."))
        expectSuccess(try sandbox.udocker("rmi", image.reference))
        #expect(try sandbox.listedImages().isEmpty)
    }

    @Test func inspectPrintsTheImageConfiguration() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        let result = try sandbox.udocker("inspect", image.reference)
        try requireSuccess(result)
        let json = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result)")
        let config = try #require(json["config"] as? [String: Any])
        #expect(config["WorkingDir"] as? String == BusyboxFixture.workingDir)
        #expect((config["Env"] as? [String])?.contains("\(BusyboxFixture.greetingVariable)=\(BusyboxFixture.greeting)") == true)
        #expect(json["architecture"] as? String == "amd64")
    }

    @Test func verifyAcceptsAnIntactImageAndRejectsACorruptedLayer() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        expectSuccess(try sandbox.udocker("verify", image.reference))

        let layers = sandbox.repositoryPath("layers")
        let victim = try #require(Files.list(layers).max { Files.size(layers + "/" + $0) < Files.size(layers + "/" + $1) })
        chmod(layers + "/" + victim, 0o644)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: layers + "/" + victim))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("corruption".utf8))
        try handle.close()
        let result = try sandbox.udocker("verify", image.reference)
        #expect(result.status != 0, "\(result)")
        #expect(result.err.contains("Error: "), "\(result)")
    }

    @Test func savedImagesLoadIntoAnotherRepository() throws {
        let source = try Sandbox("save-source"), target = try Sandbox("save-target")
        let image = try Fixtures.busybox()
        try source.load(image)
        let file = source.directory + "/saved.tar"
        try requireSuccess(source.udocker("save", "-o", file, image.reference))
        try requireSuccess(target.udocker("load", "-i", file))
        #expect(try target.listedImages() == [image.reference])
        try requireSuccess(target.udocker("create", "--name=c", image.reference))
        #expect(try target.runIn("c", []).out == BusyboxFixture.cmdOutput)
        #expect(try target.shell("c", "ls -A /opq; test -e /tobedeleted || echo gone").lines == ["fresh", "gone"])
    }
}
