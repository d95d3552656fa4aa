import Foundation
import Testing
import TestSupport
import CommandExpectations
import UdockerCore

/// Every refused command prints one `Error: …` line, exits non-zero, and leaves the repository byte for byte
/// as it was. They share one repository (busybox loaded, container `existing`, protected tag
/// `fixtures/busybox:protected`) and run one at a time, each comparing snapshots taken around it.
@Suite(.serialized) struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let testDescription: String
        /// The arguments, given where the damaged archives are (made when the first case runs).
        let arguments: @Sendable (BrokenArchives) -> [String]
        var stdin: Data? = nil
        /// Words the error line must contain, where the reason matters.
        var expecting: String? = nil
        init(_ description: String, stdin: Data? = nil, expecting: String? = nil,
             _ arguments: @escaping @Sendable (BrokenArchives) -> [String]) {
            (self.testDescription, self.arguments, self.stdin, self.expecting) = (description, arguments, stdin, expecting)
        }
        init(_ description: String, _ arguments: [String], stdin: Data? = nil, expecting: String? = nil) {
            self.init(description, stdin: stdin, expecting: expecting) { _ in arguments }
        }
    }

    private static let shared = OnceValue<(Sandbox, BrokenArchives)>()
    static func world() throws -> (Sandbox, BrokenArchives) {
        try shared.get {
            let sandbox = try Sandbox("bad-input-world")
            let image = try Fixtures.busybox()
            try sandbox.createContainer("existing", from: image)
            try requireSuccess(sandbox.udocker("tag", image.reference, "fixtures/busybox:protected"))
            try requireSuccess(sandbox.udocker("protect", "fixtures/busybox:protected"))
            return (sandbox, try BrokenArchives.make(from: image))
        }
    }

    static let cases: [Case] = [
        Case("load of a file that is not a tar") { ["load", "-i", $0.notATar] },
        Case("load of a truncated tar") { ["load", "-i", $0.truncated] },
        Case("load of a manifest naming a missing layer") { ["load", "-i", $0.missingLayer] },
        Case("load of an OCI layout missing a blob") { ["load", "-i", $0.ociMissingBlob, "fixtures/broken"] },
        Case("load of a missing file", ["load", "-i", "/nonexistent/image.tar"]),
        Case("load of garbage on stdin", ["load"], stdin: Data("not an archive at all\n".utf8)),
        Case("create of an unknown image", ["create", "fixtures/unknown:latest"]),
        Case("create with a name already taken", ["create", "--name=existing", "fixtures/busybox:latest"]),
        Case("create with an invalid name", ["create", "--name=bad/name", "fixtures/busybox:latest"]),
        Case("run of an unknown container", ["run", "no-such-container", "/bin/true"]),
        Case("run on a CPU the host does not have", ["run", "--cpuset-cpus=0,4096", "existing", "/bin/true"]),
        Case("run with a malformed CPU list", ["run", "--cpuset-cpus=-2", "existing", "/bin/true"]),
        Case("rm of an unknown name", ["rm", "no-such-container"]),
        Case("name with an invalid name", ["name", "existing", "bad/name"]),
        Case("name already taken", ["name", "existing", "existing"]),
        Case("rename to a taken name", ["rename", "existing", "existing"]),
        Case("rmname of an unknown name", ["rmname", "no-such-name"]),
        Case("tag to an existing tag", ["tag", "fixtures/busybox:latest", "fixtures/busybox:protected"]),
        Case("tag of an unknown image", ["tag", "fixtures/unknown:latest", "fixtures/new:latest"]),
        Case("rmi of a protected image", ["rmi", "fixtures/busybox:protected"]),
        Case("rmi of an unknown image", ["rmi", "fixtures/unknown:latest"]),
        Case("clone of an unknown container", ["clone", "no-such-container"]),
        Case("export of an unknown container") { ["export", "-o", $0.directory + "/never.tar", "no-such-container"] },
        Case("import of a missing file", ["import", "/nonexistent/rootfs.tar", "fixtures/imported:v1"]),
        Case("setup with an unknown mode", ["setup", "--execmode=Z9", "existing"]),
        Case("unknown command", ["frobnicate"]),
        Case("unknown option", ["images", "--bogus"]),
        Case("unknown general option", ["--bogus", "images"]),
        // A name whose directory is another image's must never replace or hide that image.
        Case("tag onto another repository's directory", ["tag", "fixtures/busybox:latest", "fixtures:busybox"],
             expecting: "collides with"),
        Case("tag inside another image's tag directory", ["tag", "fixtures/busybox:latest", "fixtures/busybox/latest:x"],
             expecting: "collides with"),
        Case("load under another image's tag directory", expecting: "collides with") {
            ["load", "-i", $0.valid, "fixtures/busybox/protected"]
        },
        // Archives must be whole, and their layers what their configuration says.
        Case("import of a plain tar cut in the middle of a file", expecting: "truncated") {
            ["import", $0.truncatedLayer, "fixtures/imported:v1"]
        },
        Case("import of a plain tar without its end-of-archive marker", expecting: "truncated") {
            ["import", $0.unterminatedLayer, "fixtures/imported:v1"]
        },
        Case("load of a docker-save whose layer is cut short", expecting: "truncated") { ["load", "-i", $0.truncatedLayerArchive] },
        Case("load of a docker-save with all-zero diff_ids", expecting: "diff_id") { ["load", "-i", $0.zeroDiffIDs] },
        Case("load of a docker-save with fewer diff_ids than layers", expecting: "diff_id") { ["load", "-i", $0.fewerDiffIDs] },
        Case("load of a docker-save with no diff_ids", expecting: "diff_id") { ["load", "-i", $0.noDiffIDs] },
        // Names docker's reference grammar refuses, from the archive or the command line.
        Case("load of an image named .locks:1", expecting: "invalid image name") { ["load", "-i", $0.named[".locks:1"]!] },
        Case("load of an image named by digest", expecting: "by digest") { ["load", "-i", $0.named[BrokenArchives.digestName]!] },
        Case("load of an image named UPPER:Tag", expecting: "invalid image name") { ["load", "-i", $0.named["UPPER:Tag"]!] },
        Case("load under the name .hidden", expecting: "invalid image name") { ["load", "-i", $0.valid, ".hidden"] },
        Case("load under the name UPPER", expecting: "invalid image name") { ["load", "-i", $0.valid, "UPPER"] },
        // Option values: an empty one is a value, not a reason to take the next argument; names stay one line.
        Case("create with an empty --name=", ["create", "--name=", "fixtures/busybox:latest"], expecting: "invalid container name"),
        Case("create with a newline in the name", ["create", "--name=two\nlines", "fixtures/busybox:latest"],
             expecting: "invalid container name"),
        Case("create with a name that looks like an option", ["create", "--name=-x", "fixtures/busybox:latest"],
             expecting: "invalid container name"),
    ]

    @Test(arguments: cases)
    func isRefusedAndChangesNothing(_ testCase: Case) throws {
        let (sandbox, broken) = try Self.world()
        let before = try sandbox.snapshot()
        let result = try sandbox.udocker(testCase.arguments(broken), stdin: testCase.stdin)
        expectOneLineError(result)
        if let expecting = testCase.expecting { #expect(result.err.contains(expecting), "\(result)") }
        let after = try sandbox.snapshot()
        #expect(after == before, "repository changed:\n\(after.differences(from: before).joined(separator: "\n"))")
    }

    @Test func anUnreadableConfigFileIsNotCalledMissing() throws {
        let (sandbox, _) = try Self.world()
        let file = try sandbox.makeDirectory("config") + "/udocker.conf"
        try Files.write("[DEFAULT]\nverbose_level = 3\n", to: file, mode: 0o000, owner: sandbox.user)
        let result = try sandbox.udocker("--config=" + file, "images")
        expectOneLineError(result)
        #expect(result.err.contains("cannot read config file") && result.err.contains("Permission denied"), "\(result)")
    }

    @Test(.enabled(if: TestUser.isRunningAsRoot, "only root can check the refusal to run as root"))
    func rootIsRefusedWithoutAllowRoot() throws {
        let (sandbox, _) = try Self.world()
        let before = try sandbox.snapshot()
        let result = try Command.run([sandbox.staging.udocker, "images"], env: sandbox.environment, as: .current)
        expectOneLineError(result)
        #expect(try sandbox.snapshot() == before)
        #expect(try Command.run([sandbox.staging.udocker, "--allow-root", "version"], env: sandbox.environment, as: .current).succeeded)
    }
}

/// Damaged archives made from a good fixture, and crafted ones.
struct BrokenArchives: Sendable {
    let directory: String
    let notATar: String
    let truncated: String
    let missingLayer: String
    let ociMissingBlob: String
    /// The fixture's own docker-save archive.
    let valid: String
    /// Plain tars: cut in the middle of a file's data; whole members but no end-of-archive marker.
    let truncatedLayer: String
    let unterminatedLayer: String
    /// docker-save archives: a layer cut short (its diff_id is that of the cut bytes), diff_ids all zero, one
    /// diff_id for two layers, none at all.
    let truncatedLayerArchive: String
    let zeroDiffIDs: String
    let fewerDiffIDs: String
    let noDiffIDs: String
    /// docker-save archives of a good layer under each name of `refusedNames`.
    let named: [String: String]

    static let digestName = "x@sha256:" + String(repeating: "ab", count: 32)
    static let refusedNames = [".locks:1", digestName, "UPPER:Tag"]

    static func make(from image: FixtureImage) throws -> BrokenArchives {
        let dir = try Staging.shared().makeDirectory("broken-archives")
        let notATar = dir + "/not-a-tar.tar", truncated = dir + "/truncated.tar"
        try Files.write("this is not a tar archive\n", to: notATar)
        let whole = try Data(contentsOf: URL(fileURLWithPath: image.dockerArchive))
        try Files.write(whole.prefix(whole.count / 2), to: truncated)

        // docker save with the top layer's layer.tar left out.
        let docker = dir + "/docker"
        try Files.makeDirectory(docker)
        try tool(["tar", "-C", docker, "-xf", image.dockerArchive])
        let manifest = try Files.read(docker + "/manifest.json")
        let topLayer = try #require(manifest.split(separator: "\"").last { $0.hasSuffix("/layer.tar") })
        try FileManager.default.removeItem(atPath: docker + "/" + topLayer)
        let missingLayer = dir + "/missing-layer.tar"
        try tool(["tar", "-C", docker, "-cf", missingLayer] + Files.list(docker))

        // OCI layout with its top layer blob left out.
        let oci = dir + "/oci"
        try FileManager.default.copyItem(atPath: image.ociLayout, toPath: oci)
        try FileManager.default.removeItem(atPath: oci + "/blobs/" + image.layerDigests.last!.replacingOccurrences(of: ":", with: "/"))
        let ociMissingBlob = dir + "/oci-missing-blob.tar"
        try tool(["tar", "-C", oci, "-cf", ociMissingBlob, "oci-layout", "index.json", "blobs"])
        var layer = TarBuilder()
        layer.file("etc/big", String(repeating: "x", count: 10_000))
        layer.file("etc/after", "after\n")
        let truncatedLayer = dir + "/truncated-layer.tar", unterminatedLayer = dir + "/unterminated-layer.tar"
        let cut = layer.archive.prefix(512 + 3_000)
        try Files.write(cut, to: truncatedLayer)
        try Files.write(layer.data, to: unterminatedLayer)

        func crafted(_ file: String, tags: [String] = ["fixtures/crafted:1"], layers: [Data], diffIDs: [String]? = nil) throws -> String {
            let path = dir + "/" + file
            try Files.write(CraftedArchive.dockerSave(repoTags: tags, layers: layers, diffIDs: diffIDs), to: path)
            return path
        }
        let layers = [CraftedArchive.layer("lower"), CraftedArchive.layer("upper", file: "upper")]
        let zero = "sha256:" + String(repeating: "0", count: 64)
        var named: [String: String] = [:]
        for (index, name) in refusedNames.enumerated() {
            named[name] = try crafted("named-\(index).tar", tags: [name], layers: [layers[0]])
        }
        let archives = BrokenArchives(
            directory: dir, notATar: notATar, truncated: truncated, missingLayer: missingLayer, ociMissingBlob: ociMissingBlob,
            valid: image.dockerArchive, truncatedLayer: truncatedLayer, unterminatedLayer: unterminatedLayer,
            truncatedLayerArchive: try crafted("truncated-layer-archive.tar", layers: [Data(cut)]),
            zeroDiffIDs: try crafted("zero-diff-ids.tar", layers: layers, diffIDs: [zero, zero]),
            fewerDiffIDs: try crafted("fewer-diff-ids.tar", layers: layers, diffIDs: [Digest.sha256(layers[0])]),
            noDiffIDs: try crafted("no-diff-ids.tar", layers: layers, diffIDs: []),
            named: named)
        try Files.makeWorldReadable(dir)
        return archives
    }

    private static func tool(_ argv: [String]) throws {
        let result = try Command.run(argv)
        try #require(result.succeeded, "\(result)")
    }
}
