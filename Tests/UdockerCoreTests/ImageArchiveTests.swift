import Foundation
import Testing
@testable import UdockerCore

/// Image archives built by the tests: images stored from crafted layers, docker-save tarballs from `save`,
/// OCI layouts assembled by hand.
struct ImageFixtures {
    let scratch: ArchiveScratch
    let repository: Repository
    var store: ImageStore { ImageStore(repository: repository) }

    static let baseLayer: [TarEntry] = [
        .directory("bin"), .file("bin/sh", "#!shell\n", mode: 0o755), .file("etc/os-release", "ID=test\n"),
        .file("etc/obsolete", "x"),
    ]
    static let topLayer: [TarEntry] = [.file("etc/.wh.obsolete", ""), .file("app/run", "run\n", mode: 0o755)]

    /// A layer tarball in the scratch directory; returns its path.
    func layerFile(_ name: String, _ entries: [TarEntry], gzip: Bool) throws -> String {
        try scratch.layer(name, gzip: gzip, entries)
    }

    func config(diffIDs: [String]) -> Data {
        let json: [String: Any] = ["architecture": "amd64", "os": "linux", "config": ["Cmd": ["/app/run"], "Env": ["A=1"]],
                                   "rootfs": ["type": "layers", "diff_ids": diffIDs]]
        return try! JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    }

    /// Stores `name` with a gzip base layer and a plain top layer.
    @discardableResult
    func storeImage(_ name: String) throws -> StoredImage {
        let files = [try layerFile("base.tar.gz", Self.baseLayer, gzip: true), try layerFile("top.tar", Self.topLayer, gzip: false)]
        let diffIDs = try files.map { try ArchiveInspector.inspectLayer($0).diffID }
        let layers = try files.map { try store.addBlob(file: $0) }
        let config = try store.addBlob(config(diffIDs: diffIDs))
        let manifest = try DockerSchema2Manifest(config: config, layers: layers).json(in: repository)
        let reference = try ImageReference.parse(name)
        try store.storeTag(reference, manifest: manifest, config: config, layers: layers)
        return try store.image(reference)
    }

    /// Every path under the repository, hidden ones included: what a failed operation must leave unchanged.
    /// Lock files are not content: FileLock keeps them once made.
    var repositorySnapshot: [String] { scratch.tree(repository.topDir).filter { !$0.hasPrefix(".locks") } }

    /// The files of an image's layers applied in order.
    func extracted(_ image: StoredImage) throws -> [String] {
        let root = try FileSystem.makeTemporaryDirectory(in: scratch.dir, prefix: "rootfs-")
        try LayerExtractor.extract(layers: image.layerFiles, into: root)
        return scratch.tree(root)
    }
}

/// Writes an OCI image layout by hand into a tarball: blobs under blobs/sha256, index.json, oci-layout.
struct OCILayoutBuilder {
    var blobs: [String: Data] = [:]
    var index: [[String: Any]] = []

    @discardableResult
    mutating func add(_ data: Data) throws -> [String: Any] {
        let digest = try Digest.sha256(data)
        blobs[digest] = data
        return ["digest": digest, "size": data.count]
    }

    /// An image manifest without a mediaType of its own, as umoci writes them.
    @discardableResult
    mutating func addImage(config: Data, layers: [Data], annotations: [String: String]?, platform: [String: String]? = nil,
                           indexed: Bool = true) throws -> [String: Any] {
        var configDescriptor = try add(config)
        configDescriptor["mediaType"] = "application/vnd.oci.image.config.v1+json"
        let layerDescriptors = try layers.map { data -> [String: Any] in
            var descriptor = try add(data)
            descriptor["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
            return descriptor
        }
        let manifest: [String: Any] = ["schemaVersion": 2, "config": configDescriptor, "layers": layerDescriptors]
        var descriptor = try add(JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
        descriptor["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        if let annotations { descriptor["annotations"] = annotations }
        if let platform { descriptor["platform"] = platform }
        if indexed { index.append(descriptor) }
        return descriptor
    }

    func write(to path: String, corrupting corrupted: String? = nil) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let writer = try TarWriter(descriptor: fd)
        try writer.add(.file("oci-layout", #"{"imageLayoutVersion":"1.0.0"}"#))
        let indexJSON: [String: Any] = ["schemaVersion": 2, "manifests": index]
        try writer.add(TarEntry("index.json", .file(JSONSerialization.data(withJSONObject: indexJSON))))
        for (digest, data) in blobs.sorted(by: { $0.key < $1.key }) {
            var content = data
            if digest == corrupted { content[content.count / 2] ^= 0xff }
            try writer.add(TarEntry("blobs/sha256/" + digest.dropFirst(7), .file(content)))
        }
        try writer.finish()
    }
}

@Suite struct ImageArchiveTests {
    let scratch: ArchiveScratch
    let source: TemporaryRepository
    let target: TemporaryRepository
    let images: ImageFixtures
    let loaded: ImageFixtures

    init() throws {
        scratch = try ArchiveScratch()
        source = try TemporaryRepository()
        target = try TemporaryRepository()
        images = ImageFixtures(scratch: scratch, repository: source.repository)
        loaded = ImageFixtures(scratch: scratch, repository: target.repository)
    }

    var loader: ImageArchiveLoader { ImageArchiveLoader(store: loaded.store) }

    @Test func saveThenLoadKeepsDigestsConfigAndFiles() throws {
        let original = try images.storeImage("org/app:1.0")
        try images.storeImage("other:latest")
        let tarball = scratch.dir + "/saved.tar"
        try ImageArchiveSaver(store: images.store).save([try .parse("org/app:1.0"), try .parse("other")], to: .file(tarball))

        let names = try loader.load(.file(tarball))
        #expect(names.map(\.description) == ["org/app:1.0", "other:latest"])
        let copy = try loaded.store.image(try .parse("org/app:1.0"))
        #expect(copy.layerIDs == original.layerIDs)
        #expect(copy.configDigest == original.configDigest)
        #expect(try copy.config().cmd == ["/app/run"])
        #expect(try loaded.store.verify(copy.reference).isEmpty)
        #expect(try loaded.extracted(copy) == ["app", "app/run", "bin", "bin/sh", "etc", "etc/os-release"])
        // Nothing of the staging directory stays behind.
        #expect(try FileSystem.list(target.repository.layersDir).allSatisfy { $0.hasPrefix("sha256:") })
    }

    @Test func loadFromADescriptorAndUnderAnotherName() throws {
        try images.storeImage("app:1.0")
        let tarball = scratch.dir + "/saved.tar"
        try ImageArchiveSaver(store: images.store).save([try .parse("app:1.0")], to: .file(tarball))
        let fd = open(tarball, O_RDONLY)
        defer { close(fd) }
        #expect(try loader.load(.descriptor(fd), name: "renamed/app").map(\.description) == ["renamed/app:1.0"])
    }

    @Test func existingTagsAreNotOverwritten() throws {
        try images.storeImage("app:1.0")
        let tarball = scratch.dir + "/saved.tar"
        try ImageArchiveSaver(store: images.store).save([try .parse("app:1.0")], to: .file(tarball))
        _ = try loader.load(.file(tarball))
        let before = loaded.repositorySnapshot
        #expect(throws: UdockerError.self) { try loader.load(.file(tarball)) }
        #expect(loaded.repositorySnapshot == before)
    }

    /// docker-save archives written by hand: names from RepoTags, from the legacy `repositories` file, or none.
    @Test(arguments: [
        (#"["docker.io/library/busybox:1.36"]"#, nil, "busybox:1.36"),
        ("null", #"{"legacy/name":{"t1":"LAYERID"}}"#, "legacy/name:t1"),
        ("[]", nil, "RANDOM"),
    ])
    func dockerSaveNames(repoTags: String, repositories: String?, expected: String) throws {
        let layer = try images.layerFile("layer.tar", ImageFixtures.baseLayer, gzip: false)
        let layerID = String(try Digest.sha256(file: layer).dropFirst(7))
        let config = images.config(diffIDs: ["sha256:" + layerID])
        let tarball = scratch.dir + "/docker.tar"
        let fd = open(tarball, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let writer = try TarWriter(descriptor: fd)
        try writer.add(.file("manifest.json", #"[{"Config":"cfg.json","RepoTags":\#(repoTags),"Layers":["\#(layerID)/layer.tar"]}]"#))
        if let repositories { try writer.add(.file("repositories", repositories.replacingOccurrences(of: "LAYERID", with: layerID))) }
        try writer.add(TarEntry("cfg.json", .file(config)))
        try writer.addFile(layerID + "/layer.tar", contentsOf: layer)
        try writer.finish()
        close(fd)

        let names = try loader.load(.file(tarball))
        #expect(names.count == 1)
        if expected == "RANDOM" {
            #expect(names[0].name.count == 16 && names[0].tag.count == 10)
            #expect(names[0].name.allSatisfy { $0.isHexDigit })
        } else {
            #expect(names[0].description == expected)
        }
        #expect(try loaded.store.image(names[0]).layerIDs == ["sha256:" + layerID])
    }

    @Test func handMadeOCILayoutLoads() throws {
        let layer = try FileSystem.read(try images.layerFile("layer.tar.gz", ImageFixtures.baseLayer, gzip: true))
        let diffID = try ArchiveInspector.inspectLayer(scratch.dir + "/layer.tar.gz").diffID
        var layout = OCILayoutBuilder()
        try layout.addImage(config: images.config(diffIDs: [diffID]), layers: [layer],
                        annotations: ["org.opencontainers.image.ref.name": "v1"])
        try layout.addImage(config: images.config(diffIDs: [diffID, diffID]), layers: [layer, layer],
                        annotations: ["io.containerd.image.name": "docker.io/tools/twice:2", "org.opencontainers.image.ref.name": "2"])
        let tarball = scratch.dir + "/oci.tar"
        try layout.write(to: tarball)

        let names = try loader.load(.file(tarball), name: nil)
        #expect(names.count == 2)
        #expect(names[0].tag == "v1" && names[0].name.count == 16)
        #expect(names[1].description == "tools/twice:2")
        let image = try loaded.store.image(names[0])
        #expect(try image.layerIDs == [Digest.sha256(layer)])
        #expect(try loaded.extracted(image).contains("bin/sh"))
        // The OCI manifest is kept as it was: same bytes, same digest.
        #expect(try layout.blobs[Digest.sha256(image.manifest)] != nil)
    }

    @Test func nestedIndexGivesTheHostPlatform() throws {
        let host = Platform.host
        let other = host.architecture == "arm64" ? "amd64" : "arm64"
        var layout = OCILayoutBuilder()
        let layers = try [other, host.architecture].map {
            try FileSystem.read(try images.layerFile("\($0).tar", [.file("arch", $0)], gzip: false))
        }
        func config(_ architecture: String, _ layer: Data) throws -> Data {
            Data(#"{"architecture":"\#(architecture)","rootfs":{"type":"layers","diff_ids":["\#(try Digest.sha256(layer))"]}}"#.utf8)
        }
        let foreign = try layout.addImage(config: try config(other, layers[0]), layers: [layers[0]], annotations: nil,
                                      platform: ["os": "linux", "architecture": other], indexed: false)
        let native = try layout.addImage(config: try config(host.architecture, layers[1]), layers: [layers[1]],
                                     annotations: nil, platform: ["os": "linux", "architecture": host.architecture], indexed: false)
        var index = try layout.add(JSONSerialization.data(withJSONObject: ["schemaVersion": 2, "manifests": [foreign, native]]))
        index["mediaType"] = "application/vnd.oci.image.index.v1+json"
        index["annotations"] = ["org.opencontainers.image.ref.name": "multi"]
        layout.index = [index]
        let tarball = scratch.dir + "/multi.tar"
        try layout.write(to: tarball)

        let names = try loader.load(.file(tarball), name: "multi/arch")
        #expect(names.map(\.description) == ["multi/arch:multi"])
        #expect(try loaded.store.image(names[0]).layerIDs == [Digest.sha256(layers[1])])
    }

    enum BadArchive: String, CaseIterable {
        case notATar, noManifest, missingLayer, layerOutsideArchive, corruptedOCILayer, corruptedOCIManifest,
             corruptedSecondImage, unreadableConfig
    }

    @Test(arguments: BadArchive.allCases)
    func badArchivesLeaveTheRepositoryAsItWas(_ bad: BadArchive) throws {
        try loaded.storeImage("already:here")
        let before = loaded.repositorySnapshot
        let tarball = scratch.dir + "/bad.tar"
        let layer = try images.layerFile("layer.tar", ImageFixtures.baseLayer, gzip: false)
        let second = try FileSystem.read(try images.layerFile("second.tar", [.file("second", "2")], gzip: false))
        func dockerSave(_ manifest: String, config: String = "{}", withLayer: Bool = true) throws {
            let fd = open(tarball, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            defer { close(fd) }
            let writer = try TarWriter(descriptor: fd)
            try writer.add(.file("manifest.json", manifest))
            try writer.add(.file("cfg.json", config))
            if withLayer { try writer.addFile("l/layer.tar", contentsOf: layer) }
            try writer.finish()
        }
        func oci(corrupting: (OCILayoutBuilder) throws -> String?) throws {
            var layout = OCILayoutBuilder()
            let first = try FileSystem.read(layer)
            try layout.addImage(config: images.config(diffIDs: [Digest.sha256(first)]), layers: [first],
                            annotations: ["io.containerd.image.name": "one:1"])
            try layout.addImage(config: images.config(diffIDs: [Digest.sha256(second)]), layers: [second],
                            annotations: ["io.containerd.image.name": "two:2"])
            try layout.write(to: tarball, corrupting: try corrupting(layout))
        }
        switch bad {
        case .notATar: try FileSystem.atomicWrite(String(repeating: "not a tar archive ", count: 100), to: tarball)
        case .noManifest: try scratch.layer("bad.tar", [.file("something.json", "{}")])
        case .missingLayer: try dockerSave(#"[{"Config":"cfg.json","RepoTags":["x:1"],"Layers":["l/layer.tar","gone/layer.tar"]}]"#)
        case .layerOutsideArchive: try dockerSave(#"[{"Config":"cfg.json","RepoTags":["x:1"],"Layers":["../../bad.tar"]}]"#)
        case .unreadableConfig: try dockerSave(#"[{"Config":"cfg.json","RepoTags":["x:1"],"Layers":["l/layer.tar"]}]"#, config: "{")
        case .corruptedOCILayer: try oci { _ in try Digest.sha256(try! FileSystem.read(layer)) }
        case .corruptedOCIManifest: try oci { $0.index[0]["digest"] as? String }
        case .corruptedSecondImage: try oci { _ in try Digest.sha256(second) }
        }
        let error = #expect(throws: UdockerError.self) { try loader.load(.file(tarball)) }
        let corrupted: Set<BadArchive> = [.corruptedOCILayer, .corruptedOCIManifest, .corruptedSecondImage]
        #expect(error?.code == (corrupted.contains(bad) ? .digestMismatch : .invalidInput), "\(error.map(String.init(describing:)) ?? "")")
        #expect(loaded.repositorySnapshot == before)
    }

    /// verify reads every layer to its end-of-archive marker and checks its uncompressed digest against the
    /// configuration's diff_id.
    @Test func verifyFindsWrongDiffIDsAndLayersCutShort() throws {
        let store = loaded.store
        let base = try images.layerFile("base.tar.gz", ImageFixtures.baseLayer, gzip: true)
        let top = try images.layerFile("top.tar", ImageFixtures.topLayer, gzip: false)
        let baseDiffID = try ArchiveInspector.inspectLayer(base).diffID
        func tag(_ name: String, layers files: [String], diffIDs: [String]) throws -> ImageReference {
            let layers = try files.map { try store.addBlob(file: $0) }
            let config = try store.addBlob(images.config(diffIDs: diffIDs))
            let manifest = try DockerSchema2Manifest(config: config, layers: layers).json(in: target.repository)
            let reference = try ImageReference.parse(name)
            try store.storeTag(reference, manifest: manifest, config: config, layers: layers)
            return reference
        }
        let good = try tag("good:1", layers: [base, top], diffIDs: [baseDiffID, try Digest.sha256(file: top)])
        #expect(try store.verify(good).isEmpty)

        let zero = "sha256:" + String(repeating: "0", count: 64)
        let wrong = try tag("wrong:1", layers: [base, top], diffIDs: [baseDiffID, zero])
        let wrongProblems = try store.verify(wrong)
        #expect(wrongProblems.contains { $0.contains("diff_id") }, "\(wrongProblems)")
        let short = try tag("short:1", layers: [base, top], diffIDs: [baseDiffID])
        let shortProblems = try store.verify(short)
        #expect(shortProblems.contains { $0.contains("diff_id") }, "\(shortProblems)")

        // Cut in the middle of app/run's data; the blob is named by the digest of what is left.
        let cut = scratch.dir + "/cut.tar"
        try FileSystem.atomicWrite(try FileSystem.read(top).prefix(1026), to: cut)
        let truncated = try tag("cut:1", layers: [base, cut], diffIDs: [baseDiffID, try Digest.sha256(file: cut)])
        let truncatedProblems = try store.verify(truncated)
        #expect(truncatedProblems.contains { $0.contains("truncated") }, "\(truncatedProblems)")
    }

    @Test(arguments: [false, true])
    func importMakesAOneLayerImage(gzip: Bool) throws {
        let tarball = try images.layerFile("rootfs.tar", ImageFixtures.baseLayer, gzip: gzip)
        let digest = try Digest.sha256(file: tarball)
        let importer = ImageImporter(store: loaded.store)
        try importer.importTarball(.file(tarball), as: try .parse("imported:v1"), move: true, platform: "linux/arm64/v8")
        #expect(!FileSystem.exists(tarball))
        let image = try loaded.store.image(try .parse("imported:v1"))
        #expect(image.layerIDs == [digest])
        let config = try JSONSerialization.jsonObject(with: image.configJSON()) as? [String: Any]
        #expect(config?["architecture"] as? String == "arm64")
        #expect(config?["variant"] as? String == "v8")
        let diffIDs = (config?["rootfs"] as? [String: Any])?["diff_ids"] as? [String]
        #expect(diffIDs == [try ArchiveInspector.inspectLayer(loaded.repository.layerPath(digest)).diffID])
        #expect(try loaded.extracted(image).contains("etc/os-release"))

        let before = loaded.repositorySnapshot
        let again = try images.layerFile("again.tar", [.file("x", "x")], gzip: false)
        #expect(throws: UdockerError.self) { try importer.importTarball(.file(again), as: try .parse("imported:v1")) }
        try FileSystem.atomicWrite("plain text, not a tarball at all, long enough to be sniffed", to: again)
        #expect(throws: UdockerError.self) { try importer.importTarball(.file(again), as: try .parse("other:v1")) }
        #expect(loaded.repositorySnapshot == before)
    }
}
