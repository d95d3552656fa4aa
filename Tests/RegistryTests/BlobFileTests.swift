import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// The partial-file side of a download: resume, restart, overrun, digest check, and the lock between processes.
@Suite struct BlobFileTests {
    let repository: Repository
    let data = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
    var digest: String { get throws { try Digest.sha256(data) } }

    init() throws {
        let top = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udocker-blobfile-test-")
        repository = Repository(config: Config(values: Config.defaults.merging(["topdir": top]) { $1 }))
        try repository.create()
    }

    func open() throws -> BlobFile {
        guard case .ready(let blob) = try BlobFile.open(digest: digest, expectedSize: Int64(data.count), repository: repository, wait: false)
        else { throw TestSupportError("blob not ready") }
        return blob
    }

    func write(_ blob: BlobFile, _ bytes: Data) throws { try bytes.withUnsafeBytes { try blob.write($0) } }

    @Test func resumesAPartialFileFromWhereItEnds() throws {
        try data.prefix(100_000).write(to: URL(fileURLWithPath: repository.ingestPath(digest)))
        let blob = try open()
        #expect(blob.resumeOffset == 100_000)
        #expect(try blob.begin(status: 206, headers: HTTPHeaders([("Content-Range", "bytes 100000-299999/300000")])))
        try write(blob, data.dropFirst(100_000))
        try blob.commit()
        #expect(try FileSystem.read(repository.layerPath(digest)) == data)
        #expect(try !FileSystem.exists(repository.ingestPath(digest)))
        try FileSystem.removeTree(repository.topDir)
    }

    @Test func startsOverWhenTheServerIgnoresTheRange() throws {
        try Data(repeating: 0xff, count: 5_000).write(to: URL(fileURLWithPath: repository.ingestPath(digest)))
        let blob = try open()
        #expect(try blob.begin(status: 200, headers: HTTPHeaders()))
        #expect(blob.size == 0)
        try write(blob, data)
        try blob.commit()
        #expect(try Digest.sha256(file: repository.layerPath(digest)) == digest)
        try FileSystem.removeTree(repository.topDir)
    }

    @Test func refusesARangeThatDoesNotContinueTheFile() throws {
        try data.prefix(10).write(to: URL(fileURLWithPath: repository.ingestPath(digest)))
        let blob = try open()
        #expect(throws: UdockerError.self) {
            try blob.begin(status: 206, headers: HTTPHeaders([("Content-Range", "bytes 0-299999/300000")]))
        }
        #expect(try !blob.begin(status: 404, headers: HTTPHeaders()), "an error body is not blob content")
        try FileSystem.removeTree(repository.topDir)
    }

    @Test func wrongContentIsRemovedAndNeverStored() throws {
        let blob = try open()
        #expect(try blob.begin(status: 200, headers: HTTPHeaders()))
        var corrupt = data
        corrupt[1234] ^= 0x01
        try write(blob, corrupt)
        #expect(throws: UdockerError.self) { try blob.commit() }
        #expect(try !FileSystem.exists(repository.layerPath(digest)))
        #expect(try !FileSystem.exists(repository.ingestPath(digest)))

        let longer = try open()
        #expect(try longer.begin(status: 200, headers: HTTPHeaders()))
        #expect(throws: UdockerError.self) { try write(longer, data + Data([0])) }
        #expect(try !FileSystem.exists(repository.ingestPath(digest)))
        try FileSystem.removeTree(repository.topDir)
    }

    @Test func aPartialFileHasOneWriterAtATime() throws {
        let first = try open()
        guard case .busy = try BlobFile.open(digest: digest, expectedSize: Int64(data.count), repository: repository, wait: false) else {
            Issue.record("a second writer got the partial file")
            return
        }
        #expect(try first.begin(status: 200, headers: HTTPHeaders()))
        try write(first, data)
        try first.commit()
        guard case .stored = try BlobFile.open(digest: digest, expectedSize: Int64(data.count), repository: repository, wait: true) else {
            Issue.record("a stored blob was not recognised")
            return
        }
        try FileSystem.removeTree(repository.topDir)
    }
}
