import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// Behaviour that needs a server docker-registry cannot play: redirects to blob storage on another origin, and the
/// Docker Hub search API. The helper script plays them on loopback, in front of a real registry for the redirects.
@Suite(.serialized, .enabled(if: RegistryFixtures.toolsAvailable, "needs \(RegistryFixtures.requiredTools.joined(separator: ", "))"))
struct RedirectAndIndexTests {
    @Test func blobRedirectsDoNotCarryTheRegistrysCredentials() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let front = try Loopback.freePort(), storage = try Loopback.freePort()
        let storageLog = udocker.home + "/storage.log"
        let server = try Daemon("redirecting front", ["python3", fixtures.script, "redirect", String(front), String(storage),
                                                      "http://\(registry.host)", fixtures.user, fixtures.password, storageLog],
                                log: udocker.home + "/front.out")
        try Loopback.waitForListener(front, daemon: server)
        let url = "http://127.0.0.1:\(front)"

        try udocker.check(["--insecure", "login", "--username=\(fixtures.user)", "--password=\(fixtures.password)", "--registry=\(url)"])
        try udocker.check(["--insecure", "pull", "--registry=\(url)", "tools/multi:v1"])
        #expect(try ImageStore(repository: udocker.repository).verify(ImageReference.parse("tools/multi:v1")).isEmpty)
        let fetched = ((try? Files.read(storageLog)) ?? "").split(separator: "\n")
        #expect(fetched.count == 4, "config and three layers from storage: \(fetched)")
        #expect(fetched.allSatisfy { $0.hasSuffix("authorization=no") }, "\(fetched)")
    }

    @Test func searchesADockerHubStyleIndexPageByPage() throws {
        let fixtures = try RegistryFixtures.get()
        let udocker = try Udocker()
        let port = try Loopback.freePort()
        let index = try Daemon("index", ["python3", fixtures.script, "index", String(port)], log: udocker.home + "/index.out")
        try Loopback.waitForListener(port, daemon: index)

        let output = try udocker.check(["--insecure", "search", "-a", "--index=http://127.0.0.1:\(port)", "busybox"])
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "header and four results over two pages: \(lines)")
        #expect(lines.first?.hasPrefix("NAME") == true)
        let first = try #require(lines.dropFirst().first)
        #expect(first.hasPrefix("library/busybox "))
        #expect(first.contains("[OK]") && first.contains("about library/busybox") && !first.contains("more"))
        #expect(lines.last?.hasPrefix("x/busybox-extra") == true)
    }
}
