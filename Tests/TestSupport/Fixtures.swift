import Foundation

/// An image built by the tests, in every form udocker loads: an OCI layout directory (for umoci/skopeo, e.g. to
/// push to a test registry), that layout as a tarball, a `docker save` tarball (the classic Docker ≤ 24 form,
/// layers as `<id>/layer.tar` files), and skopeo's docker-archive (layers as links, as podman/skopeo write).
/// Everything is world-readable.
public struct FixtureImage: Sendable {
    /// Repository name and tag written into the docker archives (`RepoTags`).
    public let name: String
    public let tag: String
    /// The OCI image layout directory; its only tag is `tag` (`skopeo copy oci:\(ociLayout):\(tag) …`).
    public let ociLayout: String
    public let ociArchive: String
    public let dockerArchive: String
    public let skopeoArchive: String
    /// Digests of the compressed layer blobs of the OCI layout, bottom first.
    public let layerDigests: [String]
    /// Digests of the uncompressed layers (the config's diff_ids; the layer files in the docker archives).
    public let diffIDs: [String]
    /// Digest of the image configuration blob.
    public let configDigest: String

    /// `name:tag`.
    public var reference: String { name + ":" + tag }
}

/// What the busybox fixture holds, for tests to check against.
public enum BusyboxFixture {
    /// The image's WorkingDir.
    public static let workingDir = "/data"
    /// Set by the image's Env (besides PATH).
    public static let greetingVariable = "FIXTURE_GREETING"
    public static let greeting = "hello from the image"
    /// What the image's Cmd prints (it echoes its working directory and the greeting).
    public static let cmdOutput = "cmd in /data: hello from the image\n"
    /// Removed by whiteouts in layers 2 (`/tobedeleted`, `/data/old.txt`) and 3 (opaque `/opq`).
    public static let deletedPaths = ["/tobedeleted", "/data/old.txt", "/opq/a", "/opq/sub", "/opq/sub/b"]
    /// Files present in the final image and their contents.
    public static let files = ["/data/keep.txt": "kept\n", "/data/new.txt": "added in layer 2\n",
                               "/opq/fresh": "fresh in layer 3\n", "/etc/fixture-release": "busybox fixture\n"]
    /// The only entry of the opaque directory `/opq` in the final image.
    public static let opaqueDirectoryEntries = ["fresh"]
    /// The large fixture's fourth layer: `largeFileCount` files under /many.
    public static let largeFileCount = 10_000
}

/// Test images made from Debian's busybox-static, with umoci and skopeo: no downloads. Each is built once per
/// test process, on first use.
public enum Fixtures {
    /// `fixtures/busybox:latest`, three layers:
    /// 1. /bin/busybox and a link per applet, /etc/passwd, /etc/group, /etc/fixture-release, /tobedeleted,
    ///    /data/keep.txt, /data/old.txt, /opq/a, /opq/sub/b;
    /// 2. whiteouts for /tobedeleted (top level) and /data/old.txt (nested), adds /data/new.txt;
    /// 3. /opq made opaque (`.wh..wh..opq`) with the new file /opq/fresh.
    /// Config: Cmd `sh -c 'echo cmd in $(pwd): $FIXTURE_GREETING'`, Env PATH and FIXTURE_GREETING, WorkingDir /data.
    public static func busybox() throws -> FixtureImage { try busyboxImage.get { try buildBusybox() } }

    /// `fixtures/busybox-extra:latest`: busybox's three layers (byte-identical blobs) plus one adding /extra.txt.
    public static func busyboxExtra() throws -> FixtureImage {
        try extraImage.get {
            try derive(from: busybox(), name: "fixtures/busybox-extra") { $0.file("extra.txt", "extra layer\n") }
        }
    }

    /// `fixtures/large:latest`: busybox plus a layer of `BusyboxFixture.largeFileCount` small files under
    /// /many, so that creating a container from it takes a while (to interrupt it).
    public static func large() throws -> FixtureImage {
        try largeImage.get {
            try derive(from: busybox(), name: "fixtures/large") { tar in
                tar.directory("many")
                for dir in 0..<100 {
                    tar.directory("many/d\(dir)")
                    for file in 0..<(BusyboxFixture.largeFileCount / 100) {
                        tar.file("many/d\(dir)/f\(file)", String(repeating: "x", count: 100))
                    }
                }
            }
        }
    }

    private static let busyboxImage = OnceValue<FixtureImage>()
    private static let extraImage = OnceValue<FixtureImage>()
    private static let largeImage = OnceValue<FixtureImage>()

    // MARK: building

    static func fixturesDirectory(_ name: String) throws -> String {
        let staging = try Staging.shared()
        let dir = staging.root + "/fixtures/" + name.replacingOccurrences(of: "/", with: "_")
        try Files.makeDirectory(dir)
        return dir
    }

    private static func buildBusybox() throws -> FixtureImage {
        let name = "fixtures/busybox", tag = "latest"
        let dir = try fixturesDirectory(name)
        let layout = dir + "/oci", image = layout + ":" + tag, bundle = dir + "/bundle"
        try tool(["umoci", "init", "--layout", layout])
        try tool(["umoci", "new", "--image", image])

        // Layer 1: busybox with its applets, accounts, and files later layers delete.
        try tool(["umoci", "unpack", "--rootless", "--image", image, bundle])
        let rootfs = bundle + "/rootfs"
        try Files.makeDirectory(rootfs + "/bin")
        try Files.copy("/bin/busybox", to: rootfs + "/bin/busybox", mode: 0o755)
        for applet in try tool(["/bin/busybox", "--list"]).lines where applet != "busybox" && !applet.isEmpty {
            try FileManager.default.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox")
        }
        for dir in ["etc", "data", "opq/sub", "root", "tmp"] { try Files.makeDirectory(rootfs + "/" + dir) }
        chmod(rootfs + "/tmp", 0o1777)
        try Files.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", to: rootfs + "/etc/passwd")
        try Files.write("root:x:0:\nnogroup:x:65534:\n", to: rootfs + "/etc/group")
        try Files.write("busybox fixture\n", to: rootfs + "/etc/fixture-release")
        try Files.write("deleted in layer 2\n", to: rootfs + "/tobedeleted")
        try Files.write("kept\n", to: rootfs + "/data/keep.txt")
        try Files.write("deleted in layer 2\n", to: rootfs + "/data/old.txt")
        try Files.write("hidden by layer 3\n", to: rootfs + "/opq/a")
        try Files.write("hidden by layer 3\n", to: rootfs + "/opq/sub/b")
        try tool(["umoci", "repack", "--image", image, bundle])
        Files.removeTree(bundle)

        // Layer 2: umoci turns the deletions into .wh. whiteouts.
        try tool(["umoci", "unpack", "--rootless", "--image", image, bundle])
        try FileManager.default.removeItem(atPath: rootfs + "/tobedeleted")
        try FileManager.default.removeItem(atPath: rootfs + "/data/old.txt")
        try Files.write("added in layer 2\n", to: rootfs + "/data/new.txt")
        try tool(["umoci", "repack", "--image", image, bundle])
        Files.removeTree(bundle)

        // Layer 3: umoci writes a whiteout per deleted entry, never an opaque marker, so this layer is crafted.
        var opaque = TarBuilder()
        opaque.directory("opq")
        opaque.file("opq/.wh..wh..opq", "")
        opaque.file("opq/fresh", "fresh in layer 3\n")
        try addLayer(opaque, to: image, in: dir)

        try tool(["umoci", "config", "--image", image,
                  "--config.cmd", "/bin/sh", "--config.cmd", "-c",
                  "--config.cmd", "echo cmd in $(pwd): $\(BusyboxFixture.greetingVariable)",
                  "--config.env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                  "--config.env", "\(BusyboxFixture.greetingVariable)=\(BusyboxFixture.greeting)",
                  "--config.workingdir", BusyboxFixture.workingDir])
        return try finish(name: name, tag: tag, dir: dir)
    }

    /// A copy of `base`'s layout with one more layer on top, under a new name.
    private static func derive(from base: FixtureImage, name: String, layer: (inout TarBuilder) -> Void) throws -> FixtureImage {
        let dir = try fixturesDirectory(name)
        let layout = dir + "/oci"
        try FileManager.default.copyItem(atPath: base.ociLayout, toPath: layout)
        var tar = TarBuilder()
        layer(&tar)
        try addLayer(tar, to: layout + ":" + base.tag, in: dir)
        return try finish(name: name, tag: base.tag, dir: dir)
    }

    static func addLayer(_ tar: TarBuilder, to image: String, in dir: String) throws {
        let file = dir + "/layer.tar"
        try Files.write(tar.archive, to: file)
        try tool(["umoci", "raw", "add-layer", "--image", image, file])
        try FileManager.default.removeItem(atPath: file)
    }

    /// Writes the archives of the finished layout and describes them.
    static func finish(name: String, tag: String, dir: String) throws -> FixtureImage {
        let layout = dir + "/oci"
        try tool(["umoci", "gc", "--layout", layout])
        let ociArchive = dir + "/oci.tar", skopeoArchive = dir + "/skopeo-docker.tar", dockerArchive = dir + "/docker-save.tar"
        try tool(["tar", "-C", layout, "-cf", ociArchive, "oci-layout", "index.json", "blobs"])
        try tool(["skopeo", "copy", "--quiet", "oci:\(layout):\(tag)", "docker-archive:\(skopeoArchive):\(name):\(tag)"])
        try DockerSaveFormat.convert(skopeoArchive: skopeoArchive, to: dockerArchive, workDirectory: dir + "/convert")

        let index = try json(layout + "/index.json")
        let manifestDigest = try string(((index["manifests"] as? [[String: Any]])?.first)?["digest"], "index.json digest")
        let manifest = try json(blob(layout, manifestDigest))
        let configDigest = try string((manifest["config"] as? [String: Any])?["digest"], "manifest config")
        let layers = try (manifest["layers"] as? [[String: Any]] ?? []).map { try string($0["digest"], "layer digest") }
        let config = try json(blob(layout, configDigest))
        let diffIDs = ((config["rootfs"] as? [String: Any])?["diff_ids"] as? [String]) ?? []
        try Files.makeWorldReadable(dir)
        return FixtureImage(name: name, tag: tag, ociLayout: layout, ociArchive: ociArchive, dockerArchive: dockerArchive,
                            skopeoArchive: skopeoArchive, layerDigests: layers, diffIDs: diffIDs, configDigest: configDigest)
    }

    private static func blob(_ layout: String, _ digest: String) -> String {
        layout + "/blobs/" + digest.replacingOccurrences(of: ":", with: "/")
    }

    /// Runs a build tool as this process; throws with its output when it fails.
    @discardableResult
    static func tool(_ argv: [String]) throws -> CommandResult {
        let result = try Command.run(argv, timeout: .seconds(120))
        guard result.succeeded else { throw TestSupportError("fixture build step failed:\n\(result)") }
        return result
    }

    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestSupportError("\(path) is not a JSON object")
        }
        return object
    }

    private static func string(_ value: Any?, _ what: String) throws -> String {
        guard let text = value as? String else { throw TestSupportError("fixture: \(what) missing") }
        return text
    }
}

/// Turns skopeo's docker-archive (layers stored once as `<diffid>.tar`, each legacy `<id>/layer.tar` a link to
/// one, RepoTags qualified with docker.io/) into what `docker save` wrote up to Docker 24: real `<id>/layer.tar`
/// files listed by manifest.json, and familiar names. udocker 1.3.17 loads only this form.
enum DockerSaveFormat {
    static func convert(skopeoArchive: String, to output: String, workDirectory work: String) throws {
        try Files.makeDirectory(work)
        defer { Files.removeTree(work) }
        try Fixtures.tool(["tar", "-C", work, "-xf", skopeoArchive])
        var renamed: [String: String] = [:]   // "<diffid>.tar" -> "<id>/layer.tar"
        for entry in Files.list(work) {
            let link = work + "/" + entry + "/layer.tar"
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { continue }
            let blob = (target as NSString).lastPathComponent
            try FileManager.default.removeItem(atPath: link)
            try FileManager.default.moveItem(atPath: work + "/" + blob, toPath: link)
            renamed[blob] = entry + "/layer.tar"
        }
        let manifestData = try Data(contentsOf: URL(fileURLWithPath: work + "/manifest.json"))
        guard var manifest = try JSONSerialization.jsonObject(with: manifestData) as? [[String: Any]] else {
            throw TestSupportError("skopeo's manifest.json is not a list")
        }
        for index in manifest.indices {
            manifest[index]["Layers"] = (manifest[index]["Layers"] as? [String] ?? []).map { renamed[$0] ?? $0 }
            manifest[index]["RepoTags"] = (manifest[index]["RepoTags"] as? [String] ?? []).map(familiar)
        }
        try JSONSerialization.data(withJSONObject: manifest, options: .withoutEscapingSlashes).write(to: URL(fileURLWithPath: work + "/manifest.json"))
        let repositories = try Fixtures.json(work + "/repositories")
        let familiarRepositories = Dictionary(uniqueKeysWithValues: repositories.map { (familiar($0.key), $0.value) })
        try JSONSerialization.data(withJSONObject: familiarRepositories, options: .withoutEscapingSlashes).write(to: URL(fileURLWithPath: work + "/repositories"))
        try Fixtures.tool(["tar", "-C", work, "-cf", output] + Files.list(work))
    }

    private static func familiar(_ name: String) -> String {
        name.hasPrefix("docker.io/") ? String(name.dropFirst("docker.io/".count)) : name
    }
}
