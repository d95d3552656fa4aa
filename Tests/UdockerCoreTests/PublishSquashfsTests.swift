import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// `udocker-launch publish --format=squashfs` (issue 17 item 2) and the staging of what it wrote (item 4's
/// extraction path): NAME@<12 hex>.sqfs with its manifests, world-readable and trusted as the tar.gz is, and a
/// stage whose ROOT is the tree `create` makes.
@Suite struct PublishSquashfsTests {
    final class World {
        let temp: TemporaryRepository
        let image: StoredImage
        let directory: String
        var publisher: Publisher {
            Publisher(repository: temp.repository, tools: HostTools(locator: ToolLocator(repositoryBin: temp.repository.binDir),
                                                                      config: temp.repository.config))
        }

        init() throws {
            temp = try TemporaryRepository()
            let references = try ImageArchiveLoader(store: ImageStore(repository: temp.repository)).load(.file(try Fixtures.busybox().dockerArchive))
            image = try ImageStore(repository: temp.repository).image(references[0])
            directory = temp.repository.topDir + "/published"
            try FileSystem.makeDirectories(directory, mode: 0o755)
        }

        func publish() throws -> PublishedContainer {
            var request = Publisher.Request(image: image.reference.description, directory: directory)
            request.name = "bb"
            request.format = .squashfs
            return try publisher.publish(request)
        }

        /// Stages the manifest's version into a new directory as the launcher does; returns that directory.
        func stage() throws -> String {
            let (published, archive) = try PublishedContainer.open(directory + "/bb.json")
            let stage = try FileSystem.makeTemporaryDirectory(in: temp.repository.topDir, prefix: "stage-")
            try FileSystem.makeDirectories(stage + "/ROOT")
            try PublishedStaging.extract(published, archive: archive, scratch: temp.repository.topDir + "/scratch", into: stage)
            return stage
        }
    }

    @Test func publishesADeterministicWorldReadableSquashfs() throws {
        let world = try World()
        let published = try world.publish()
        #expect(published.compression == "squashfs")
        let hex = String(published.archiveDigest.dropFirst("sha256:".count).prefix(12))
        #expect(published.archive == "bb@\(hex).sqfs")
        #expect(try Set(FileSystem.list(world.directory).filter { !$0.hasPrefix(".") }) == ["bb.json", "bb@\(hex).json", "bb@\(hex).sqfs"])
        for file in ["bb.json", "bb@\(hex).json", "bb@\(hex).sqfs"] {
            var st = stat()
            stat(world.directory + "/" + file, &st)
            #expect(st.st_mode & 0o777 == 0o644, "\(file)")
        }
        #expect(try Digest.sha256(file: world.directory + "/" + published.archive) == published.archiveDigest)
        #expect(try world.publish().archiveDigest == published.archiveDigest)
    }

    @Test func stagesTheTreeCreateMakesWithTheImageConfig() throws {
        let world = try World()
        _ = try world.publish()
        let stage = try world.stage()
        let created = try FileSystem.makeTemporaryDirectory(in: world.temp.repository.topDir, prefix: "created-")
        try LayerExtractor.extract(layers: world.image.layerFiles, into: created)
        #expect(try TreeListing.of(stage + "/ROOT") == TreeListing.of(created))
        #expect(try FileSystem.read(stage + "/container.json") == world.image.configJSON())
        #expect(try FileSystem.readString(stage + "/imagerepo.name") == world.image.reference.description)
    }

    @Test func refusesToStageASquashfsThatIsNotThePublishedOne() throws {
        let world = try World()
        let published = try world.publish()
        let archive = world.directory + "/" + published.archive
        // One byte changed in place (an admin's copy gone wrong, a disk error): the digest no longer matches.
        let fd = open(archive, O_WRONLY)
        #expect(pwrite(fd, "X", 1, 200) == 1)
        close(fd)
        let error = #expect(throws: UdockerError.self) { _ = try world.stage() }
        let text = error?.description ?? ""
        #expect(text.contains("not the manifest's") && !text.contains("\n"), "\(text)")
    }
}
