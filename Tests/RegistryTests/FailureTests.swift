import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// What a user sees when the registry's content is bad, the transfer breaks, or the registry is not there.
@Suite(.serialized, .enabled(if: RegistryFixtures.toolsAvailable, "needs \(RegistryFixtures.requiredTools.joined(separator: ", "))"))
struct FailureTests {
    @Test func aCorruptBlobFailsTheDigestCheckAndNothingIsStored() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let bottom = try registry.layers("tools/multi", tag: "v1")[0]
        // Same size, different bytes: only the digest can tell.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: registry.blobPath(bottom)))
        try handle.seek(toOffset: 1000)
        try handle.write(contentsOf: Data(repeating: 0x55, count: 64))
        try handle.close()

        let pull = try udocker.run(["--insecure", "pull", "\(registry.host)/tools/multi:v1"])
        #expect(pull.status == 1)
        #expect(pull.err.contains("blob \(bottom) arrived with digest sha256:"), "\(pull)")
        #expect(udocker.images.isEmpty)
        #expect(!udocker.layerFiles.contains { $0.contains(bottom) }, "\(udocker.layerFiles)")
        #expect(!FileSystem.exists(udocker.repository.repoDir("\(registry.host)/tools/multi")))
    }

    @Test func aDownloadKilledHalfWayResumesWithARangeRequest() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let bottom = try registry.layers("tools/multi", tag: "v1")[0]
        let stallAt = 300_000
        #expect(FileSystem.size(registry.blobPath(bottom)) > Int64(stallAt) * 2)

        let proxyPort = try Loopback.freePort()
        let proxyLog = udocker.home + "/proxy.log"
        let proxy = try Daemon("proxy", ["python3", fixtures.script, "proxy", String(proxyPort), proxyLog, String(stallAt)],
                               log: udocker.home + "/proxy.out")
        try Loopback.waitForListener(proxyPort, daemon: proxy)
        let arguments = ["--insecure", "pull", "--httpproxy=http://127.0.0.1:\(proxyPort)", "--registry=http://\(registry.host)",
                         "tools/multi:v1"]

        // First pull: the proxy stops sending the bottom layer after stallAt bytes; kill udocker there.
        let partial = udocker.repository.ingestPath(bottom)
        let first = try udocker.start(arguments)
        _ = Poll.until(timeout: .seconds(30), interval: .milliseconds(20)) { FileSystem.size(partial) >= Int64(stallAt) }
        first.kill(SIGKILL)
        _ = first.wait()
        #expect(FileSystem.size(partial) == Int64(stallAt), "the partial file holds what arrived")
        #expect(udocker.images.isEmpty)

        // Second pull resumes: the bottom layer is asked for from where the partial file ends.
        let resumed = try udocker.run(["-D"] + arguments)
        #expect(resumed.succeeded, "\(resumed)")
        let requests = (try? Files.read(proxyLog)) ?? ""
        #expect(requests.contains("GET /v2/tools/multi/blobs/\(bottom) range=bytes=\(stallAt)-"), "\(requests)")
        #expect(udocker.images == ["tools/multi:v1"])
        #expect(try ImageStore(repository: udocker.repository).verify(ImageReference.parse("tools/multi:v1")).isEmpty)
        #expect(!FileSystem.exists(partial))
    }

    @Test func aRegistryThatIsDownGivesAClearErrorAndLeavesNothing() throws {
        let udocker = try Udocker()
        let port = try Loopback.freePort()
        let started = Date()
        let pull = try udocker.run(["--insecure", "pull", "127.0.0.1:\(port)/tools/multi:v1"])
        #expect(pull.status == 1)
        #expect(pull.err.hasPrefix("Error: cannot connect to 127.0.0.1:\(port)"), "\(pull)")
        #expect(pull.err.split(separator: "\n").count == 1, "one line: \(pull.err)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(udocker.images.isEmpty)
        #expect(udocker.layerFiles.isEmpty)
        #expect(try FileSystem.list(udocker.repository.reposDir).isEmpty)
    }
}
