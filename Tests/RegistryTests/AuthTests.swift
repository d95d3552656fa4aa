import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// TLS verification, htpasswd Basic auth and token auth against docker-registry on loopback.
@Suite(.serialized, .enabled(if: RegistryFixtures.toolsAvailable, "needs \(RegistryFixtures.requiredTools.joined(separator: ", "))"))
struct AuthTests {
    @Test func verifiesTLSAgainstTheCABundleGiven() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.tls, fixtures: fixtures)
        let udocker = try Udocker()
        let name = "\(registry.host)/tools/multi:v1"

        let untrusted = try udocker.run(["pull", name])
        #expect(untrusted.status == 1)
        #expect(untrusted.err.contains("TLS certificate of \(registry.host) is not trusted"), "\(untrusted)")
        #expect(udocker.images.isEmpty)

        try udocker.check(["pull", name], environment: ["SSL_CERT_FILE": fixtures.certificate])
        #expect(udocker.images == [name])
        try udocker.check(["rmi", name])
        try udocker.check(["pull", name], environment: ["CURL_CA_BUNDLE": fixtures.certificate])
        try udocker.check(["rmi", name])
        try udocker.check(["--insecure", "pull", name])
        #expect(udocker.images == [name])
    }

    @Test func basicAuthLoginPullLogout() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.basic, fixtures: fixtures)
        let udocker = try Udocker()
        let tls = ["SSL_CERT_FILE": fixtures.certificate]
        let name = "\(registry.host)/tools/multi:v1"
        let keystore = udocker.repository.keystorePath

        let anonymous = try udocker.run(["pull", name], environment: tls)
        #expect(anonymous.status == 1)
        #expect(anonymous.err.contains("requires authentication: run udocker login"), "\(anonymous)")

        let wrong = try udocker.run(["login", "--username=\(fixtures.user)", "--password=wrong", "--registry=\(registry.host)"],
                                    environment: tls)
        #expect(wrong.status == 1)
        #expect(wrong.err.contains("refused"), "\(wrong)")
        #expect(!FileSystem.exists(keystore), "nothing stored for refused credentials")

        try udocker.check(["login", "--username=\(fixtures.user)", "--password-stdin", "--registry=\(registry.host)"],
                          environment: tls, input: fixtures.password + "\n")
        var st = stat()
        #expect(stat(keystore, &st) == 0 && st.st_mode & 0o777 == 0o600)
        let stored = try JSONSerialization.jsonObject(with: FileSystem.read(keystore)) as? [String: [String: String]]
        #expect(stored?[registry.url]?["auth"] == KeyStore.encode(username: fixtures.user, password: fixtures.password))

        try udocker.check(["pull", name], environment: tls)
        #expect(udocker.images == [name])

        chmod(keystore, 0o644)
        let exposed = try udocker.run(["pull", name], environment: tls)
        #expect(exposed.status == 1)
        #expect(exposed.err.contains("accessible to group or others"), "\(exposed)")
        chmod(keystore, 0o600)

        try udocker.check(["logout", "--registry=\(registry.host)"])
        let remaining = try JSONSerialization.jsonObject(with: FileSystem.read(keystore)) as? [String: Any]
        #expect(remaining?[registry.url] == nil)
        #expect(try udocker.run(["logout", "--registry=\(registry.host)"]).status == 1)
    }

    @Test func sharesKeystoreAndImagesWithUdocker13() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.basic, fixtures: fixtures)
        let udocker = try Udocker()
        let name = "\(registry.host)/tools/multi:v1"

        // udocker 1.3.17 stores the credentials (it does not check them); our pull uses them.
        let login = try udocker.sandbox.referenceUdocker(["login", "--username=\(fixtures.user)", "--password=\(fixtures.password)",
                                                          "--registry=https://\(registry.host)"])
        #expect(login.succeeded, "\(login)")
        try udocker.check(["pull", name], environment: ["SSL_CERT_FILE": fixtures.certificate])
        // And it lists what we pulled.
        let listed = try udocker.sandbox.referenceUdocker(["images"])
        #expect(listed.succeeded && listed.lines.contains { $0.hasPrefix(name) }, "\(listed)")
    }

    @Test func tokenAuthFetchesOneTokenPerRepository() throws {
        let fixtures = try RegistryFixtures.get()
        let registry = try RegistryServer(.token, fixtures: fixtures)
        let udocker = try Udocker()
        let tls = ["SSL_CERT_FILE": fixtures.certificate]
        let name = "\(registry.host)/tools/multi:v1"

        let anonymous = try udocker.run(["pull", name], environment: tls)
        #expect(anonymous.status == 1)
        #expect(anonymous.err.contains("refused access to repository:tools/multi:pull"), "\(anonymous)")
        #expect(udocker.images.isEmpty)

        let wrong = try udocker.run(["login", "--username=\(fixtures.user)", "--password=nope", "--registry=https://\(registry.host)"],
                                    environment: tls)
        #expect(wrong.status == 1)
        #expect(wrong.err.contains("refused the credentials"), "\(wrong)")

        try udocker.check(["login", "--username=\(fixtures.user)", "--password=\(fixtures.password)",
                           "--registry=https://\(registry.host)"], environment: tls)
        let before = registry.tokensIssued.count
        try udocker.check(["pull", name], environment: tls)
        #expect(udocker.images == [name])
        // One token serves the manifest and all four blobs.
        #expect(Array(registry.tokensIssued.dropFirst(before)) == ["\(fixtures.user) repository:tools/multi:pull"])

        let manifest = try udocker.check(["manifest", "inspect", name], environment: tls)
        #expect(manifest.contains(MediaType.dockerManifest))
    }
}
