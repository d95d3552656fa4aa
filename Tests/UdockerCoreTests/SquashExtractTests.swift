import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// Extracting a SquashFS through libsquashfs (issue 17's fallback, and the staging of a published `.sqfs`):
/// the tree is the one `create` makes, and only a file with the expected digest and a readable image is used.
@Suite struct SquashExtractTests {
    private func busyboxLayers() throws -> [String] {
        let image = try Fixtures.busybox()
        return image.layerDigests.map { image.ociLayout + "/blobs/" + $0.replacingOccurrences(of: ":", with: "/") }
    }

    @Test func extractsTheTreeCreateMakes() throws {
        let scratch = try SquashScratch()
        let lower = try scratch.layer("lower.tar.gz", [
            .file("bin/tool", "tool", mode: 0o755), .hardlink("bin/again", to: "bin/tool"), .symlink("lib", to: "usr/lib"),
            .file("usr/lib/big", String(repeating: "0123456789", count: 50_000)), .directory("tmp", mode: 0o1777),
        ])
        let layers = try busyboxLayers() + [lower]
        try LayerExtractor.extract(layers: layers, into: scratch.created)
        try SquashImageBuilder.build(layers: layers, to: scratch.image)
        try FileSystem.makeDirectories(scratch.unpacked)
        try SquashExtractor.extract(scratch.image, expectedDigest: try Digest.sha256(file: scratch.image), into: scratch.unpacked)
        #expect(try TreeListing.of(scratch.unpacked) == TreeListing.of(scratch.created))
    }

    @Test func refusesAFileWhoseDigestIsNotTheExpectedOne() throws {
        let scratch = try SquashScratch()
        try SquashImageBuilder.build(layers: try busyboxLayers(), to: scratch.image)
        try FileSystem.makeDirectories(scratch.unpacked)
        let other = "sha256:" + String(repeating: "0", count: 64)
        let error = #expect(throws: UdockerError.self) {
            try SquashExtractor.extract(scratch.image, expectedDigest: other, into: scratch.unpacked)
        }
        #expect(error?.description.contains("not the \(other) its manifest names") == true)
        #expect(try FileSystem.list(scratch.unpacked).isEmpty)
    }

    @Test(arguments: [4096, 40_000, 100])
    func refusesATruncatedImageWithOneLine(keeping bytes: Int) throws {
        let scratch = try SquashScratch()
        try SquashImageBuilder.build(layers: try busyboxLayers(), to: scratch.image)
        #expect(truncate(scratch.image, off_t(bytes)) == 0)
        try FileSystem.makeDirectories(scratch.unpacked)
        let error = #expect(throws: UdockerError.self) {
            try SquashExtractor.extract(scratch.image, expectedDigest: nil, into: scratch.unpacked)
        }
        let text = error?.description ?? ""
        #expect(text.contains("is not a readable SquashFS image") && !text.contains("\n"), "\(text)")
    }
}
