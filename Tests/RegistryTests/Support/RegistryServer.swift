import Foundation
import TestSupport
@testable import UdockerCore

/// Debian's docker-registry on a free loopback port, serving its own copy of the seeded storage:
/// plain HTTP, TLS, htpasswd Basic auth (with TLS), or token auth (with TLS, and a token server beside it).
final class RegistryServer {
    enum Mode { case plain, tls, basic, token }

    let mode: Mode
    let port: Int
    let storage: String
    let tokenLog: String
    private var daemons: [Daemon] = []

    var host: String { "127.0.0.1:\(port)" }
    /// The scheme://host[:port] udocker keys credentials by.
    var url: String { (mode == .plain ? "http://" : "https://") + host }

    init(_ mode: Mode, fixtures: RegistryFixtures, storage: String? = nil, copySeed: Bool = true) throws {
        self.mode = mode
        port = try Loopback.freePort()
        let dir = try FileSystem.makeTemporaryDirectory(in: fixtures.dir, prefix: "registry-")
        self.storage = storage ?? dir + "/storage"
        tokenLog = dir + "/tokens.log"
        if copySeed { try mustRun(["cp", "-a", fixtures.seedStorage, self.storage]) }

        var config = """
        version: 0.1
        log: {level: info, accesslog: {disabled: false}}
        storage: {filesystem: {rootdirectory: \(self.storage)}, delete: {enabled: true}}
        http:
          addr: 127.0.0.1:\(port)

        """
        if mode != .plain { config += "  tls: {certificate: \(fixtures.certificate), key: \(fixtures.key)}\n" }
        if mode == .basic { config += "auth: {htpasswd: {realm: udocker-test, path: \(fixtures.htpasswd)}}\n" }
        if mode == .token {
            let tokenPort = try Loopback.freePort()
            config += """
            auth:
              token: {realm: "https://127.0.0.1:\(tokenPort)/token", service: udocker-test, issuer: udocker-test-issuer,
                      rootcertbundle: \(fixtures.certificate)}

            """
            let server = try Daemon("token server", ["python3", fixtures.script, "token", String(tokenPort), fixtures.certificate,
                                                     fixtures.key, fixtures.user, fixtures.password, tokenLog], log: dir + "/token-server.log")
            daemons.append(server)
            try Loopback.waitForListener(tokenPort, daemon: server)
        }
        try config.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)
        let registry = try Daemon("docker-registry", ["docker-registry", "serve", dir + "/config.yml"], log: dir + "/registry.log")
        daemons.append(registry)
        try Loopback.waitForListener(port, daemon: registry)
    }

    func stop() { for daemon in daemons.reversed() { daemon.stop() } }

    deinit { stop() }

    var log: String { daemons.last?.log ?? "" }

    /// Tokens issued so far, one "USER SCOPE" line each.
    var tokensIssued: [String] {
        ((try? Files.read(tokenLog)) ?? "").split(separator: "\n").map(String.init)
    }

    // MARK: the registry's storage, for tests that look behind its back

    private var v2: String { storage + "/docker/registry/v2" }

    func manifestDigest(_ repository: String, tag: String) throws -> String {
        try String(contentsOfFile: "\(v2)/repositories/\(repository)/_manifests/tags/\(tag)/current/link", encoding: .utf8)
    }

    func blobPath(_ digest: String) -> String {
        let hex = digest.dropFirst(7)
        return "\(v2)/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    /// The layer digests of a stored single-platform manifest, bottom first.
    func layers(_ repository: String, tag: String) throws -> [String] {
        let manifest = try JSONSerialization.jsonObject(with: FileSystem.read(blobPath(manifestDigest(repository, tag: tag)))) as! [String: Any]
        return (manifest["layers"] as! [[String: Any]]).map { $0["digest"] as! String }
    }
}
