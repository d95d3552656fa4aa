import Foundation
import Testing
@testable import UdockerCore

@Suite struct RemoteImageTests {
    static let settings = RegistrySettings(config: Config(values: Config.defaults), environment: [:])

    @Test(arguments: [
        ("busybox", "busybox", "latest", "https://registry-1.docker.io", "library/busybox"),
        ("busybox:1.36", "busybox", "1.36", "https://registry-1.docker.io", "library/busybox"),
        ("someuser/tool", "someuser/tool", "latest", "https://registry-1.docker.io", "someuser/tool"),
        ("docker.io/busybox", "docker.io/busybox", "latest", "https://registry-1.docker.io", "library/busybox"),
        ("quay.io/org/img:2", "quay.io/org/img", "2", "https://quay.io", "org/img"),
        ("ghcr.io/owner/repo/img", "ghcr.io/owner/repo/img", "latest", "https://ghcr.io", "owner/repo/img"),
        ("localhost/img", "localhost/img", "latest", "https://localhost", "img"),
        ("127.0.0.1:5000/tools/img:v1", "127.0.0.1:5000/tools/img", "v1", "https://127.0.0.1:5000", "tools/img"),
        ("nvcr.io/nvidia/cuda@sha256:" + String(repeating: "ab", count: 32), "nvcr.io/nvidia/cuda",
         "sha256:" + String(repeating: "ab", count: 32), "https://nvcr.io", "nvidia/cuda"),
    ])
    func resolves(text: String, name: String, tag: String, registry: String, repository: String) throws {
        let image = try RemoteImage.resolve(text, settings: Self.settings)
        #expect(image.local == ImageReference(name: name, tag: tag))
        #expect(image.registry == registry)
        #expect(image.repository == repository)
    }

    @Test func registryOptionAppliesToNamesWithoutHost() throws {
        var settings = Self.settings
        settings.apply(registry: "mirror.example.org:5000", index: nil, proxy: nil)
        let plain = try RemoteImage.resolve("busybox", settings: settings)
        #expect(plain.registry == "https://mirror.example.org:5000")
        #expect(plain.repository == "library/busybox")
        let hosted = try RemoteImage.resolve("quay.io/org/img", settings: settings)
        #expect(hosted.registry == "https://quay.io")
    }

    /// An http:// registry is used as written; only one off this machine is worth a warning.
    @Test(arguments: [
        ("http://127.0.0.1:5000", false), ("http://localhost:5000/", false), ("http://[::1]:5000", false),
        ("http://127.1.2.3", false), ("http://10.0.0.1:5000", true), ("http://registry.example.org", true),
        ("http://127.0.0.1.example.org", true), ("https://10.0.0.1:5000", false),
    ])
    func plainHTTPWarnsOnlyOffThisMachine(url: String, warns: Bool) {
        #expect((RegistryTransport.plainHTTPWarning(url) != nil) == warns)
    }

    @Test func udockerRegistryVariableMovesTheDefault() throws {
        let config = try Config.load(environment: ["HOME": "/nonexistent", "UDOCKER_REGISTRY": "http://10.0.0.1:5000/"])
        let image = try RemoteImage.resolve("tools/img", settings: RegistrySettings(config: config, environment: [:]))
        #expect(image.registry == "http://10.0.0.1:5000")
        #expect(image.repository == "tools/img")
    }
}

@Suite struct AuthChallengeTests {
    @Test func parsesBearerWithQuotedCommas() throws {
        let challenge = try #require(AuthChallenge.parse(
            #"Bearer realm="https://auth.example.org/token",service="registry.example.org",scope="repository:a/b:pull,push""#))
        #expect(challenge.scheme == .bearer)
        #expect(challenge.realm == "https://auth.example.org/token")
        #expect(challenge.service == "registry.example.org")
        #expect(challenge.scope == "repository:a/b:pull,push")
    }

    @Test func parsesBasicAndPrefersBearer() throws {
        #expect(AuthChallenge.parse(#"Basic realm="Registry Realm""#)?.scheme == .basic)
        #expect(AuthChallenge.parse("Negotiate abc") == nil)
        let chosen = AuthChallenge.select([#"Basic realm="x""#, #"Bearer realm="https://t/token""#])
        #expect(chosen?.scheme == .bearer)
    }

    @Test func tokenURLEncodesServiceAndScope() throws {
        let challenge = AuthChallenge(scheme: .bearer, parameters: ["realm": "https://auth.example.org/token?x=1",
                                                                    "service": "reg istry"])
        #expect(challenge.tokenURL(scope: "repository:lib/busybox:pull")
                == "https://auth.example.org/token?x=1&service=reg%20istry&scope=repository%3Alib%2Fbusybox%3Apull")
    }

    @Test func tokensExpire() {
        var cache = TokenCache()
        let now = Date()
        cache.store("t1", for: "repository:a:pull", lifetime: 60, now: now)
        #expect(cache.token(for: "repository:a:pull", now: now.addingTimeInterval(30)) == "t1")
        #expect(cache.token(for: "repository:a:pull", now: now.addingTimeInterval(55)) == nil)
        #expect(cache.token(for: "repository:b:pull", now: now) == nil)
    }

    @Test func authorizationGoesOnlyToTheRegistryOrigin() {
        #expect(URLParts.origin("https://Registry.example.org/v2/x") == URLParts.origin("https://registry.example.org:443/v2/"))
        #expect(URLParts.origin("https://registry.example.org/v2/") != URLParts.origin("https://storage.example.org/blob"))
        #expect(URLParts.origin("https://127.0.0.1:5000/v2/") != URLParts.origin("https://127.0.0.1:5001/v2/"))
        #expect(URLParts.origin("http://registry.example.org/v2/") != URLParts.origin("https://registry.example.org/v2/"))
    }
}

@Suite struct ManifestTests {
    static let digest = "sha256:" + String(repeating: "1", count: 64)
    static let other = "sha256:" + String(repeating: "2", count: 64)

    @Test func imageManifestByContentType() throws {
        let json = #"{"schemaVersion":2,"config":{"digest":"\#(Self.digest)","size":10},"layers":[{"digest":"\#(Self.other)","size":20}]}"#
        let manifest = try RemoteManifest(data: Data(json.utf8), contentType: MediaType.dockerManifest + "; charset=utf-8")
        #expect(manifest.mediaType == MediaType.dockerManifest)
        guard case .image(let config, let layers) = manifest.content else { Issue.record("not an image"); return }
        #expect(config.digest == Self.digest)
        #expect(layers.map(\.digest) == [Self.other])
        #expect(layers.first?.size == 20)
    }

    @Test func indexByShapeWhenNoTypeIsGiven() throws {
        let json = #"{"schemaVersion":2,"manifests":[{"digest":"\#(Self.digest)","size":5,"platform":{"os":"linux","architecture":"arm64"}}]}"#
        let manifest = try RemoteManifest(data: Data(json.utf8), contentType: "application/octet-stream")
        guard case .index(let entries) = manifest.content else { Issue.record("not an index"); return }
        #expect(entries.first?.platform == Platform(os: "linux", architecture: "arm64", variant: "v8"))
    }

    @Test func schemaOneIsRefused() {
        let json = #"{"schemaVersion":1,"fsLayers":[{"blobSum":"\#(Self.digest)"}]}"#
        #expect(throws: UdockerError.self) { try RemoteManifest(data: Data(json.utf8), contentType: MediaType.dockerSchema1Signed) }
    }

    @Test func registryErrorDocumentsAreSummarised() {
        let body = #"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#
        #expect(RegistryErrorBody.summary(Data(body.utf8)) == "MANIFEST_UNKNOWN: manifest unknown")
        #expect(RegistryErrorBody.summary(Data("<html>".utf8)) == nil)
        let response = HTTPResponse(url: "https://r.example.org/v2/a/manifests/b", status: 404, headers: HTTPHeaders(), body: Data(body.utf8))
        #expect(throws: UdockerError.self) { try response.requireSuccess("manifest a:b") }
    }

    @Test func linkHeaderPagination() {
        #expect(RegistryClient.nextPage(#"</v2/_catalog?last=b&n=2>; rel="next""#) == "/v2/_catalog?last=b&n=2")
        #expect(RegistryClient.nextPage(#"</v2/_catalog?n=2>; rel="prev""#) == nil)
    }
}

@Suite struct PlatformTests {
    static func entry(_ os: String, _ arch: String, _ variant: String = "", digit: Character) throws -> Descriptor {
        var platform: [String: Any] = ["os": os, "architecture": arch]
        if !variant.isEmpty { platform["variant"] = variant }
        return try Descriptor(json: ["digest": "sha256:" + String(repeating: digit, count: 64), "size": 1, "platform": platform])
    }

    @Test func choosesExactThenCompatible() throws {
        let index = [try Self.entry("unknown", "unknown", digit: "0"), try Self.entry("linux", "amd64", digit: "1"),
                     try Self.entry("linux", "arm", "v6", digit: "2"), try Self.entry("linux", "arm", "v7", digit: "3"),
                     try Self.entry("linux", "arm64", "v8", digit: "4")]
        #expect(try Platform.select(Platform.parse("linux/amd64"), from: index, image: "x").digest.hasSuffix("1111"))
        #expect(try Platform.select(Platform.parse("linux/x86_64"), from: index, image: "x").digest.hasSuffix("1111"))
        #expect(try Platform.select(Platform.parse("linux/arm/v7"), from: index, image: "x").digest.hasSuffix("3333"))
        #expect(try Platform.select(Platform.parse("linux/aarch64"), from: index, image: "x").digest.hasSuffix("4444"))
    }

    @Test func noMatchListsWhatThereIs() throws {
        let index = [try Self.entry("linux", "amd64", digit: "1"), try Self.entry("linux", "arm64", digit: "2")]
        do {
            _ = try Platform.select(Platform.parse("linux/s390x"), from: index, image: "img:1")
            Issue.record("selected a platform that is not there")
        } catch let error as UdockerError {
            #expect(error.message == "no image for platform linux/s390x in img:1; available: linux/amd64, linux/arm64/v8")
        }
    }

    @Test(arguments: ["linux", "linux/", "/amd64", "a/b/c/d"])
    func rejectsBadPlatforms(text: String) {
        #expect(throws: UdockerError.self) { try Platform.parse(text) }
    }
}
