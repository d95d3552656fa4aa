import Foundation
import Testing
import TestSupport
import CommandExpectations

/// `udocker-launch publish` is reproducible: the same image published again with the same mode gives the same
/// archive bytes (members in a fixed order, no time later than the image's creation, no gzip timestamp), so the
/// nodes' stages of it stay valid.
@Suite struct ReproduciblePublishTests {
    static func archiveDigest(_ manifest: String) throws -> String {
        let document = try JSONSerialization.jsonObject(with: Data(try Files.read(manifest).utf8)) as? [String: Any]
        return try #require(document?["archiveDigest"] as? String, "no archiveDigest in \(manifest)")
    }

    @Test(arguments: [[], ["--execmode=P1"]])
    func publishingTheSameImageTwiceGivesOneDigest(_ mode: [String]) throws {
        let node = try LaunchNode()
        try node.sandbox.load(Fixtures.busybox())
        let dir = try node.sandbox.makeDirectory("published")
        let publish = [node.launcher, "publish", "--format=tar.gz", "--to", dir, "--name", "bb"] + mode + ["fixtures/busybox:latest"]
        try requireSuccess(node.sandbox.run(publish))
        let first = try Self.archiveDigest(dir + "/bb.json")
        let archive = try #require(Files.list(dir).first { $0.hasSuffix(".tar.gz") })
        // A second apart, from a fresh extraction: every time the build makes is a new one.
        Thread.sleep(forTimeInterval: 1.1)
        try requireSuccess(node.sandbox.run(publish))
        #expect(try Self.archiveDigest(dir + "/bb.json") == first)
        #expect(Files.list(dir).filter { $0.hasSuffix(".tar.gz") } == [archive], "\(Files.list(dir))")

        // The gzip header's MTIME (bytes 4–7) is zero.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + archive)).prefix(10))
        #expect(bytes[4..<8].allSatisfy { $0 == 0 }, "gzip header \(bytes)")
    }
}
