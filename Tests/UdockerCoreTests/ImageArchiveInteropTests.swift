import Foundation
import Testing
@testable import UdockerCore

/// Archives made and read by the tools images come from: umoci's OCI layouts (manifests without a mediaType)
/// and skopeo's docker-archive transport reading what `save` writes. Both are Debian packages (`make deps`).
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/umoci")
                && FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"),
                "needs umoci and skopeo (apt-get install umoci skopeo)"))
struct ImageArchiveInteropTests {
    let scratch: ArchiveScratch
    let repo: TemporaryRepository
    var store: ImageStore { ImageStore(repository: repo.repository) }

    init() throws {
        scratch = try ArchiveScratch()
        repo = try TemporaryRepository()
    }

    func run(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/" + arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.dir)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw UdockerError(.internalError, "\(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }

    /// A directory tree as a tarball, written by our own writer.
    func tarball(of directory: String) throws -> String {
        let path = directory + ".tar"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        try TarWriter.write(directory: directory, to: fd)
        return path
    }

    @Test func umociLayoutLoadsAndRuns() throws {
        try run("umoci", "init", "--layout", "layout")
        try run("umoci", "new", "--image", "layout:v1")
        try run("umoci", "unpack", "--rootless", "--image", "layout:v1", "bundle")
        try FileSystem.atomicWrite("hello from umoci\n", to: scratch.dir + "/bundle/rootfs/hello")
        try run("umoci", "repack", "--image", "layout:v1", "bundle")
        try run("umoci", "config", "--image", "layout:v1", "--config.cmd=/hello")

        let names = try ImageArchiveLoader(store: store).load(.file(tarball(of: scratch.dir + "/layout")), name: "umoci/img")
        #expect(names.map(\.description) == ["umoci/img:v1"])
        let image = try store.image(names[0])
        #expect(try image.config().cmd == ["/hello"])
        try LayerExtractor.extract(layers: image.layerFiles, into: scratch.root)
        #expect(scratch.text("hello") == "hello from umoci\n")
    }

    @Test func skopeoReadsWhatSaveWritesAndWritesWhatLoadReads() throws {
        let images = ImageFixtures(scratch: scratch, repository: repo.repository)
        let original = try images.storeImage("app:1.0")
        let saved = scratch.dir + "/saved.tar"
        try ImageArchiveSaver(store: store).save([original.reference], to: .file(saved))
        try run("skopeo", "copy", "--quiet", "docker-archive:" + saved, "oci:copied:v2")

        let names = try ImageArchiveLoader(store: store).load(.file(tarball(of: scratch.dir + "/copied")), name: "back/again")
        let copy = try store.image(names[0])
        #expect(names.map(\.description) == ["back/again:v2"])
        // skopeo rewrites the config as an OCI one and re-compresses the layers: the blobs differ, not their content.
        #expect(try copy.config().cmd == ["/app/run"])
        #expect(try copy.layerFiles.map { try ArchiveInspector.inspectLayer($0).diffID }
                == original.layerFiles.map { try ArchiveInspector.inspectLayer($0).diffID })

        try run("skopeo", "copy", "--quiet", "oci:copied:v2", "docker-archive:skopeo.tar:skopeo/made:v3")
        let fromSkopeo = try ImageArchiveLoader(store: store).load(.file(scratch.dir + "/skopeo.tar"))
        #expect(fromSkopeo.map(\.description) == ["skopeo/made:v3"])
        #expect(try store.verify(fromSkopeo[0]).isEmpty)
    }
}
