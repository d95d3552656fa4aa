import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// Pulls from a real docker-registry on loopback, plain HTTP.
@Suite(.serialized, .enabled(if: RegistryFixtures.toolsAvailable, "needs \(RegistryFixtures.requiredTools.joined(separator: ", "))"))
struct PullTests {
    @Test func pullsAMultiLayerImageAndVerifiesIt() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let name = "\(registry.host)/tools/multi:v1"

        let pull = try udocker.run(["--insecure", "pull", name])
        #expect(pull.succeeded, "\(pull)")
        #expect(udocker.images == [name])
        try udocker.check(["verify", name])
        let image = try ImageStore(repository: udocker.repository).image(ImageReference.parse(name))
        #expect(image.layerIDs == (try registry.layers("tools/multi", tag: "v1")))
        #expect(try ImageStore(repository: udocker.repository).verify(ImageReference.parse(name)).isEmpty)
        #expect(udocker.layerFiles.allSatisfy { !$0.hasPrefix(".") }, "partial files left: \(udocker.layerFiles)")
        // What is stored is the manifest as served (Docker schema 2 here), byte for byte.
        #expect(try Digest.sha256(image.manifest) == (registry.manifestDigest("tools/multi", tag: "v1")))

        // Everything is present: a second pull asks for the manifest only.
        let again = try udocker.run(["--insecure", "pull", name])
        #expect(again.status == 0)
        #expect(!again.err.contains("downloading"), "\(again)")
        let blobGets = registry.log.split(separator: "\n").filter { $0.contains("\"GET /v2/tools/multi/blobs/") }
        #expect(blobGets.count == 4, "config and three layers, each fetched once: \(blobGets)")

        // A blob cut short (as a crash before the disk caught up could leave it) is fetched again.
        let bottom = udocker.repository.layerPath(image.layerIDs[0])
        #expect(truncate(bottom, 1000) == 0)
        try udocker.check(["--insecure", "pull", name])
        #expect(try ImageStore(repository: udocker.repository).verify(ImageReference.parse(name)).isEmpty)
    }

    @Test func createAndRunPullAMissingImage() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()

        let id = try udocker.check(["--insecure", "create", "--name=multi", "\(registry.host)/tools/multi:v1"])
        #expect(!id.isEmpty)
        #expect(udocker.images == ["\(registry.host)/tools/multi:v1"])
        let run = try udocker.run(["run", "--nobanner", "multi"])
        #expect(run.succeeded, "\(run)")
        #expect(run.out == "hello from layer three\n", "the image's Cmd over all three layers")

        let mixed = try udocker.run(["--insecure", "run", "--rm", "--nobanner", "\(registry.host)/tools/mixed:v1", "/bin/cat", "/mixed.txt"])
        #expect(mixed.succeeded, "\(mixed)")
        #expect(mixed.out == "plain tar layer\n")

        // run passes --platform and --registry on to the pull.
        let other = fixtures.otherPlatform
        let platformRun = try udocker.run(["--insecure", "run", "--rm", "--nobanner", "--platform=linux/\(other.architecture)",
                                           "--registry=http://\(registry.host)", "tools/multiarch", "/bin/true"])
        #expect(platformRun.succeeded, "\(platformRun)")
        let listed = try udocker.check(["-q", "images", "-p"]).split(separator: "\n")
        #expect(listed.contains { $0.hasPrefix("linux/\(other.architecture) ") && $0.hasSuffix(" tools/multiarch:latest") }, "\(listed)")
    }

    /// udocker 1.3 (and docker, for loopback) pull from an explicit http:// registry URL as written; a bare host
    /// means https and is never retried in plain HTTP behind the user's back.
    @Test func explicitHTTPRegistryIsUsedAsWritten() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let tls = try udocker.run(["pull", "\(registry.host)/tools/multi:v1"])
        #expect(tls.status == 1)
        #expect(tls.err.contains("write http://\(registry.host), or use --insecure"), "\(tls)")
        #expect(!registry.log.contains("/v2/"), "no plain HTTP retry: \(registry.log)")

        let reference = try Udocker("explicitHTTPRegistryReference")
        let original = try reference.sandbox.referenceUdocker(["pull", "--registry=http://\(registry.host)", "tools/multi:v1"])
        #expect(original.succeeded, "udocker \(ReferenceUdocker.version): \(original)")

        let explicit = try udocker.run(["pull", "--registry=http://\(registry.host)", "tools/multi:v1"])
        #expect(explicit.succeeded, "\(explicit)")
        #expect(!explicit.err.contains("Warning"), "loopback needs no warning: \(explicit)")
        try udocker.check(["pull", "tools/multiarch"], environment: ["UDOCKER_REGISTRY": "http://\(registry.host)"])
        #expect(Set(udocker.images) == ["tools/multi:v1", "tools/multiarch:latest"])
    }

    @Test func registryErrorsAreOneLineWithTheRegistrysCode() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let pull = try udocker.run(["-q", "--insecure", "pull", "\(registry.host)/tools/multi:nope"])
        #expect(pull.status == 1)
        #expect(pull.err == "Error: manifest tools/multi:nope: \(registry.host) answered HTTP 404: MANIFEST_UNKNOWN: manifest unknown\n")
        #expect(try FileSystem.list(udocker.repository.reposDir).isEmpty)
    }

    @Test func runPullsOnlyAsItsPullOptionSays() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let never = try udocker.run(["--insecure", "run", "--pull=never", "\(registry.host)/tools/multi:v1", "true"])
        #expect(never.status == 1)
        #expect(never.err.contains("image not found: \(registry.host)/tools/multi:v1"), "\(never)")
        #expect(!registry.log.contains("/manifests/"), "nothing asked of the registry")
        #expect(try udocker.run(["run", "--pull=sometimes", "x", "true"]).status != 0)
    }

    @Test func goesThroughTheProxyTheEnvironmentNames() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let port = try Loopback.freePort()
        let log = udocker.home + "/proxy.log"
        let proxy = try Daemon("proxy", ["python3", fixtures.script, "proxy", String(port), log, String(1 << 40)],
                               log: udocker.home + "/proxy.out")
        try Loopback.waitForListener(port, daemon: proxy)
        try udocker.check(["--insecure", "pull", "--registry=http://\(registry.host)", "tools/multi:v1"],
                          environment: ["http_proxy": "http://127.0.0.1:\(port)"])
        let requests = ((try? Files.read(log)) ?? "").split(separator: "\n")
        #expect(requests.filter { $0.contains("/v2/tools/multi/") }.count == 5, "manifest and four blobs: \(requests)")
    }

    @Test func pullsByDigestIntoATagNamedByTheDigest() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let digest = try registry.manifestDigest("tools/multi", tag: "v1")
        try udocker.check(["--insecure", "pull", "\(registry.host)/tools/multi@\(digest)"])
        #expect(udocker.images == ["\(registry.host)/tools/multi:\(digest)"])
        #expect(FileSystem.isFile(udocker.repository.tagDir("\(registry.host)/tools/multi", digest) + "/manifest"))
    }

    @Test func choosesThePlatformFromAnIndex() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let name = "\(registry.host)/tools/multiarch"

        try udocker.check(["--insecure", "pull", name])
        #expect(try udocker.check(["-q", "images", "-p"]).contains("linux/\(Platform.host.architecture)"))

        let other = fixtures.otherPlatform
        try udocker.check(["--insecure", "pull", "--platform=\(other.os)/\(other.architecture)", name])
        #expect(try udocker.check(["-q", "images", "-p"]).contains("linux/\(other.architecture)"))

        let missing = try udocker.run(["--insecure", "pull", "--platform=linux/s390x", name])
        #expect(missing.status == 1)
        #expect(missing.err.contains("no image for platform linux/s390x"), "\(missing)")
        #expect(missing.err.contains("available: linux/"), "\(missing)")

        // manifest inspect prints the index itself, or with --platform the chosen manifest.
        let index = try udocker.check(["--insecure", "manifest", "inspect", name])
        #expect(index.contains(MediaType.ociIndex) && index.contains("\"manifests\""))
        let chosen = try udocker.check(["--insecure", "manifest", "inspect", "--platform=linux/\(other.architecture)", name])
        #expect(chosen.contains("\"layers\"") && !chosen.contains("\"manifests\""))
    }

    @Test func pullsGzipAndUncompressedLayers() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let name = "\(registry.host)/tools/mixed:v1"
        try udocker.check(["--insecure", "pull", name])
        let image = try ImageStore(repository: udocker.repository).image(ImageReference.parse(name))
        #expect(image.layerIDs.count == 2)
        let plain = try FileSystem.read(image.layerFiles[1])
        #expect(String(decoding: plain.prefix(9), as: UTF8.self) == "mixed.txt", "second layer is a plain tar")
        #expect(try ImageStore(repository: udocker.repository).verify(ImageReference.parse(name)).isEmpty)
    }

    @Test func searchesTheCatalogAndListsTags() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.plain, fixtures: fixtures)
        let udocker = try Udocker()
        let found = try udocker.check(["--insecure", "-q", "search", "\(registry.host)/multi"])
        let names = found.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(names == ["\(registry.host)/tools/multi", "\(registry.host)/tools/multiarch"])
        let all = try udocker.check(["--insecure", "-q", "search", "-a", "--registry=http://\(registry.host)", ""])
        #expect(all.split(separator: "\n").count == 3)
        let tags = try udocker.check(["--insecure", "search", "--list-tags", "\(registry.host)/tools/multi"])
        #expect(tags == "v1\n")
    }
}
