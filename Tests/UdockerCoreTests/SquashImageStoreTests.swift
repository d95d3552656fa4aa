import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// Counts from several threads.
final class BuildCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var builds = 0, failures: [String] = []
    func record(_ result: Result<Bool, Error>) {
        lock.lock()
        defer { lock.unlock() }
        switch result {
        case .success(let built): if built { builds += 1 }
        case .failure(let error): failures.append("\(error)")
        }
    }
    var counts: (builds: Int, failures: [String]) {
        lock.lock()
        defer { lock.unlock() }
        return (builds, failures)
    }
}

/// Where an image's SquashFS lives (issue 17 item 2): built once into the repository by the first caller that
/// needs it, never seen half-written under its final name.
@Suite struct SquashImageStoreTests {
    @Test func sixteenConcurrentCallersBuildOnce() throws {
        let temp = try TemporaryRepository()
        let references = try ImageArchiveLoader(store: ImageStore(repository: temp.repository)).load(.file(try Fixtures.busybox().dockerArchive))
        let image = try ImageStore(repository: temp.repository).image(references[0])
        let store = SquashImageStore(repository: temp.repository)
        let counter = BuildCounter()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            counter.record(Result { try store.ensure(image).built })
        }
        let (builds, failures) = counter.counts
        #expect(failures.isEmpty, "\(failures)")
        #expect(builds == 1)
        let path = try store.path(for: image)
        #expect(path.hasSuffix("/squashfs/" + image.configDigest! + ".sqfs"))
        // Complete and readable by the stock tool; nothing else left in the directory.
        #expect(try Command.run(["unsquashfs", "-lln", path]).succeeded)
        #expect(try FileSystem.list(store.directory) == [Paths.basename(path)])
        // A warm caller builds nothing.
        #expect(try store.ensure(image).built == false)
    }

    @Test func aBuilderKilledMidwayLeavesNothingUnderTheFinalName() throws {
        let temp = try TemporaryRepository()
        let images = ImageStore(repository: temp.repository)
        // A layer big enough that its build takes a few seconds: Debian bookworm's root file system.
        let layer = try images.whileAddingBlobs { () throws -> String in
            try images.addBlob(file: try DebianRootfs.tarball("bookworm"))
        }
        let config = try images.addBlob(Data(#"{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]}}"#.utf8))
        let manifest = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "config": ["digest": config], "layers": [["digest": layer]],
        ])
        let reference = try ImageReference.parse("debian:squash")
        try images.storeTag(reference, manifest: manifest, config: config, layers: [layer])
        let image = try images.image(reference)
        let store = SquashImageStore(repository: temp.repository)
        let final = try store.path(for: image)

        let scratch = temp.repository.topDir + "/scratch"
        try FileSystem.makeDirectories(scratch)
        let builder = try Command.start(
            [try Staging.shared().udockerLaunch, "--allow-root", "--scratch=" + scratch,
             "stage", "debian:squash"],
            env: ["UDOCKER_DIR": temp.repository.topDir], timeout: .seconds(300))
        // Killed once its temporary has appeared in squashfs/, well before the build can be done.
        let started = Date()
        while (try? FileSystem.list(store.directory))?.contains(where: { $0.hasPrefix(".") }) != true {
            #expect(Date().timeIntervalSince(started) < 60, "the builder never started")
            if Date().timeIntervalSince(started) >= 60 { break }
            usleep(20_000)
        }
        usleep(300_000)
        builder.kill(SIGKILL)
        _ = builder.wait()
        #expect(!FileSystem.exists(final), "a killed build left a file under the final name")

        // The next caller builds it, and reclaims the killed builder's temporary.
        #expect(try store.ensure(image).built)
        #expect(try FileSystem.list(store.directory) == [Paths.basename(final)])
        #expect(try Command.run(["unsquashfs", "-lln", final]).succeeded)
    }

    /// `rmi` of one of two tags of an image keeps the SquashFS the other still names; `rmi` of the last removes it.
    @Test func rmiRemovesTheSquashfsWithTheImagesLastTag() throws {
        let temp = try TemporaryRepository()
        let images = ImageStore(repository: temp.repository)
        let references = try ImageArchiveLoader(store: images).load(.file(try Fixtures.busybox().dockerArchive))
        let other = try ImageReference.parse("busybox:other")
        try images.tag(references[0], as: other)
        let store = SquashImageStore(repository: temp.repository)
        let path = try store.ensure(try images.image(references[0])).path

        try images.remove(references[0])
        #expect(FileSystem.isFile(path), "removed while busybox:other still names the image")
        try images.remove(other)
        #expect(!FileSystem.exists(path), "left behind by the image's last rmi")
        #expect(try FileSystem.list(store.directory).isEmpty)
    }
}
