import Foundation
import TestSupport
@testable import UdockerCore

/// What the registry tests need, built once per test process in the TestSupport staging area: a self-signed
/// certificate for 127.0.0.1, an htpasswd file, the helper script, and a registry storage directory seeded with
/// the test images. Each test's registry serves its own copy of that storage.
///
/// Images (all from Debian's busybox-static):
/// - `tools/multi:v1`: three gzip layers, pushed by skopeo as Docker schema 2;
/// - `tools/multiarch:latest`: an OCI index with this machine's platform and one other;
/// - `tools/mixed:v1`: an OCI image with one gzip and one uncompressed layer.
struct RegistryFixtures: Sendable {
    let dir: String
    let certificate: String
    let key: String
    let htpasswd: String
    let script: String
    let seedStorage: String
    let otherPlatform: Platform
    let user = "tester"
    let password = "Sec-ret.42"

    static let requiredTools = ["docker-registry", "skopeo", "umoci", "openssl", "htpasswd", "python3", "busybox", "tar"]
    static var toolsAvailable: Bool { executablesInPath(requiredTools) }

    static func get() throws -> RegistryFixtures { try shared.get(build) }
    private static let shared = OnceValue<RegistryFixtures>()

    private static func build() throws -> RegistryFixtures {
        let dir = try Staging.shared().makeDirectory("registry-fixtures")
        let other = Platform.host.architecture == "amd64" ? Platform(os: "linux", architecture: "arm64")
                                                          : Platform(os: "linux", architecture: "amd64")
        let fixtures = RegistryFixtures(dir: dir, certificate: dir + "/cert.pem", key: dir + "/key.pem",
                                        htpasswd: dir + "/htpasswd", script: dir + "/helper.py",
                                        seedStorage: dir + "/seed-storage", otherPlatform: other)
        try mustRun(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                     "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", fixtures.key, "-out", fixtures.certificate])
        chmod(fixtures.certificate, 0o644)
        try Files.write(try mustRun(["htpasswd", "-Bbn", fixtures.user, fixtures.password]).out, to: fixtures.htpasswd)
        try Files.write(HelperScript.text, to: fixtures.script)
        let layout = try ImageLayouts.build(in: dir + "/layout", other: other)
        try fixtures.seed(from: layout)
        return fixtures
    }

    /// Pushes the images into the seed storage through a registry that runs only for that.
    private func seed(from layout: String) throws {
        let registry = try RegistryServer(.plain, fixtures: self, storage: seedStorage, copySeed: false)
        try mustRun(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--format", "v2s2",
                         "oci:\(layout):multi", "docker://\(registry.host)/tools/multi:v1"])
        try mustRun(["python3", script, "push", "http://\(registry.host)", "tools/multiarch", layout, "multiarch", "latest"])
        try mustRun(["python3", script, "push", "http://\(registry.host)", "tools/mixed", layout, "mixed", "v1"])
        registry.stop()
    }
}

/// The OCI layout the images are built in with umoci; index and mixed-compression manifests are written by hand.
enum ImageLayouts {
    static func build(in layout: String, other: Platform) throws -> String {
        let bundle = layout + "-bundle"
        try mustRun(["umoci", "init", "--layout", layout])
        try mustRun(["umoci", "new", "--image", layout + ":multi"])
        try addLayer(layout, "multi", bundle) { root in
            try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
            let names = try mustRun(["/bin/busybox", "--list"]).lines
            for name in names where name != "busybox" {
                try FileManager.default.createSymbolicLink(atPath: root + "/bin/" + name, withDestinationPath: "busybox")
            }
            try "root:x:0:0:root:/root:/bin/sh\n".write(toFile: root + "/etc/passwd", atomically: true, encoding: .utf8)
            try "root:x:0:\n".write(toFile: root + "/etc/group", atomically: true, encoding: .utf8)
        }
        try addLayer(layout, "multi", bundle) { root in
            try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
            try "layer two\n".write(toFile: root + "/data/two.txt", atomically: true, encoding: .utf8)
        }
        try addLayer(layout, "multi", bundle) { root in
            try "hello from layer three\n".write(toFile: root + "/hello.txt", atomically: true, encoding: .utf8)
        }
        try mustRun(["umoci", "config", "--image", layout + ":multi", "--config.cmd", "/bin/cat",
                         "--config.cmd", "/hello.txt", "--config.env", "FIXTURE=multi"])
        try mustRun(["umoci", "config", "--image", layout + ":multi", "--tag", "other",
                         "--architecture", other.architecture, "--os", other.os])
        var oci = try OCILayout(layout)
        try oci.addIndex("multiarch", entries: [("multi", Platform.host), ("other", other)])
        try oci.addMixedCompressionImage("mixed", basedOn: "multi", scratch: layout + "-mixed")
        return layout
    }

    private static func addLayer(_ layout: String, _ tag: String, _ bundle: String, _ change: (String) throws -> Void) throws {
        try mustRun(["umoci", "unpack", "--rootless", "--image", "\(layout):\(tag)", bundle])
        try change(bundle + "/rootfs")
        try mustRun(["umoci", "repack", "--image", "\(layout):\(tag)", bundle])
        try FileManager.default.removeItem(atPath: bundle)
    }
}

/// Just enough of an OCI image layout to add manifests by hand.
struct OCILayout {
    let path: String
    private var index: [String: Any]

    init(_ path: String) throws {
        self.path = path
        index = try JSONSerialization.jsonObject(with: FileSystem.read(path + "/index.json")) as! [String: Any]
    }

    private var entries: [[String: Any]] {
        get { index["manifests"] as? [[String: Any]] ?? [] }
        set { index["manifests"] = newValue }
    }

    func descriptor(_ tag: String) throws -> [String: Any] {
        guard let entry = entries.first(where: { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == tag })
        else { throw TestSupportError("no \(tag) in \(path)") }
        return entry
    }

    func blob(_ digest: String) throws -> Data { try FileSystem.read(path + "/blobs/sha256/" + digest.dropFirst(7)) }

    func json(_ digest: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: blob(digest)) as! [String: Any]
    }

    /// Writes a blob; returns its descriptor fields.
    func write(_ data: Data, mediaType: String) throws -> [String: Any] {
        let digest = try Digest.sha256(data)
        try data.write(to: URL(fileURLWithPath: path + "/blobs/sha256/" + digest.dropFirst(7)))
        return ["mediaType": mediaType, "digest": digest, "size": data.count]
    }

    func encode(_ object: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    mutating func tag(_ descriptor: [String: Any], as tag: String) throws {
        var tagged = descriptor
        tagged["annotations"] = ["org.opencontainers.image.ref.name": tag]
        entries.append(tagged)
        try encode(index).write(to: URL(fileURLWithPath: path + "/index.json"))
    }

    mutating func addIndex(_ tag: String, entries platforms: [(String, Platform)]) throws {
        let manifests = try platforms.map { name, platform -> [String: Any] in
            var entry = try descriptor(name)
            entry["annotations"] = nil
            entry["mediaType"] = MediaType.ociManifest
            var fields = ["os": platform.os, "architecture": platform.architecture]
            if !platform.variant.isEmpty { fields["variant"] = platform.variant }
            entry["platform"] = fields
            return entry
        }
        let document: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex, "manifests": manifests]
        try self.tag(try write(try encode(document), mediaType: MediaType.ociIndex), as: tag)
    }

    /// An image whose first layer is `base`'s gzip bottom layer and whose second is an uncompressed tar.
    mutating func addMixedCompressionImage(_ tag: String, basedOn base: String, scratch: String) throws {
        let baseManifest = try json(try descriptor(base)["digest"] as! String)
        let bottom = (baseManifest["layers"] as! [[String: Any]])[0]
        var config = try json((baseManifest["config"] as! [String: Any])["digest"] as! String)

        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try "plain tar layer\n".write(toFile: scratch + "/mixed.txt", atomically: true, encoding: .utf8)
        try mustRun(["tar", "-cf", scratch + ".tar", "-C", scratch, "mixed.txt"])
        let tar = try write(try FileSystem.read(scratch + ".tar"), mediaType: "application/vnd.oci.image.layer.v1.tar")

        var rootfs = config["rootfs"] as! [String: Any]
        rootfs["diff_ids"] = [(rootfs["diff_ids"] as! [String])[0], tar["digest"] as! String]
        config["rootfs"] = rootfs
        config["history"] = nil
        let configDescriptor = try write(try encode(config), mediaType: "application/vnd.oci.image.config.v1+json")
        let manifest: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociManifest,
                                       "config": configDescriptor, "layers": [bottom, tar]]
        try self.tag(try write(try encode(manifest), mediaType: MediaType.ociManifest), as: tag)
    }
}
