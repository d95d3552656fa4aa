import Foundation
import Testing
@testable import UdockerCore

/// A throwaway repository under /tmp.
final class TemporaryRepository {
    let repository: Repository
    init() throws {
        let dir = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udrepo-")
        repository = Repository(config: try Config.load(environment: ["HOME": "/nonexistent", "UDOCKER_DIR": dir]))
        try repository.create()
    }
    deinit { try? FileSystem.removeTree(repository.topDir) }
}

@Suite struct ImageStoreTests {
    /// Stores an image whose layers are tars of one file holding the given contents; returns the layer digests.
    func storeImage(_ store: ImageStore, _ name: String, layers: [String]) throws -> [String] {
        let digests = try layers.map { try store.addBlob(Self.tar(file: "content", $0)) }
        let config = try store.addBlob(Data(#"{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]}}"#.utf8))
        let manifest = try JSONSerialization.data(withJSONObject: [
            "schemaVersion": 2, "config": ["digest": config], "layers": digests.map { ["digest": $0] },
        ])
        try store.storeTag(try ImageReference.parse(name), manifest: manifest, config: config, layers: digests)
        return digests
    }

    /// A tar archive of one file, as bytes.
    static func tar(file name: String, _ content: String) throws -> Data {
        let path = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udtar-") + "/layer.tar"
        defer { try? FileSystem.removeTree(Paths.dirname(path)) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let writer = try TarWriter(descriptor: fd)
        try writer.add(.file(name, content))
        try writer.finish()
        close(fd)
        return try FileSystem.read(path)
    }

    @Test func sharedBlobsSurviveUntilTheLastImageGoes() throws {
        let temp = try TemporaryRepository()
        let store = ImageStore(repository: temp.repository)
        let a = try storeImage(store, "one:latest", layers: ["shared", "only-one"])
        let b = try storeImage(store, "two:latest", layers: ["shared", "only-two"])
        #expect(a[0] == b[0])
        #expect(try store.list().map(\.description) == ["one:latest", "two:latest"])

        try store.remove(try ImageReference.parse("one:latest"))
        #expect(store.hasBlob(a[0]))
        #expect(!store.hasBlob(a[1]))
        try store.remove(try ImageReference.parse("two"))
        #expect(!store.hasBlob(a[0]))
        #expect(try store.list().isEmpty)
        #expect(try FileSystem.list(temp.repository.reposDir).isEmpty)
    }

    @Test func layoutMatchesUdocker13() throws {
        let temp = try TemporaryRepository()
        let store = ImageStore(repository: temp.repository)
        let digests = try storeImage(store, "org/img:v1", layers: ["x"])
        let dir = temp.repository.tagDir("org/img", "v1")
        #expect(try FileSystem.readString(dir + "/TAG") == temp.repository.reposDir + "/org/img:v1")
        #expect(FileSystem.isFile(dir + "/v2"))
        #expect(FileSystem.readLink(dir + "/" + digests[0]) == "../../../../layers/" + digests[0])
        let image = try store.image(try ImageReference.parse("org/img:v1"))
        #expect(image.layerIDs == digests)
        #expect(try image.config().cmd == ["sh"])
        #expect(try image.config().platform == "linux/amd64")
    }

    /// `nest:1` lives in repos/nest/1/, the repository directory of `nest/1`: whichever comes first stays whole.
    @Test(arguments: [("nest/1:2", "nest:1"), ("nest:1", "nest/1:2")])
    func namesSharingADirectoryAreRefused(first: String, second: String) throws {
        let temp = try TemporaryRepository()
        let store = ImageStore(repository: temp.repository)
        let digests = try storeImage(store, first, layers: ["x"])
        let error = #expect(throws: UdockerError.self) { try storeImage(store, second, layers: ["y"]) }
        #expect(error?.description.contains("collides with") == true, "\(String(describing: error))")
        #expect(try store.list().map(\.description) == [first])
        #expect(try store.image(try .parse(first)).layerIDs == digests)
        #expect(try store.verify(try .parse(first)).isEmpty)
    }

    @Test func protectedImagesAreNotRemoved() throws {
        let temp = try TemporaryRepository()
        let store = ImageStore(repository: temp.repository)
        _ = try storeImage(store, "p:latest", layers: ["x"])
        let reference = try ImageReference.parse("p")
        try store.setProtected(reference, true)
        #expect(throws: UdockerError.self) { try store.remove(reference) }
        try store.setProtected(reference, false)
        try store.remove(reference)
    }

    @Test func tagCopiesAndRefusesToOverwrite() throws {
        let temp = try TemporaryRepository()
        let store = ImageStore(repository: temp.repository)
        let digests = try storeImage(store, "src:latest", layers: ["x"])
        try store.tag(try ImageReference.parse("src"), as: try ImageReference.parse("dst:2"))
        #expect(try store.image(try ImageReference.parse("dst:2")).layerIDs == digests)
        #expect(throws: UdockerError.self) { try store.tag(try ImageReference.parse("src"), as: try ImageReference.parse("dst:2")) }
    }

    @Test func verifyFindsACorruptedBlob() throws {
        let temp = try TemporaryRepository()
        let store = ImageStore(repository: temp.repository)
        let digests = try storeImage(store, "v:latest", layers: ["good"])
        let reference = try ImageReference.parse("v")
        #expect(try store.verify(reference).isEmpty)
        try FileSystem.atomicWrite("evil", to: temp.repository.layerPath(digests[0]))
        #expect(try store.verify(reference).count == 1)
    }

    @Test func aStoredBlobCutShortIsReplaced() throws {
        let temp = try TemporaryRepository()
        let store = ImageStore(repository: temp.repository)
        let file = temp.repository.topDir + "/blob"
        try FileSystem.atomicWrite("the whole layer", to: file)
        let digest = try store.addBlob(file: file)
        truncate(temp.repository.layerPath(digest), 3)
        #expect(try store.addBlob(file: file, move: true) == digest)
        #expect(try Digest.sha256(file: temp.repository.layerPath(digest)) == digest)
    }

    @Test func addBlobRejectsAWrongDigest() throws {
        let temp = try TemporaryRepository()
        let store = ImageStore(repository: temp.repository)
        let file = temp.repository.topDir + "/blob"
        try FileSystem.atomicWrite("content", to: file)
        let wrong = "sha256:" + String(repeating: "0", count: 64)
        #expect(throws: UdockerError.self) { try store.addBlob(file: file, expected: wrong) }
        #expect(try FileSystem.list(temp.repository.layersDir).isEmpty)
    }
}

@Suite struct FileSystemTests {
    /// A tree deeper than PATH_MAX: every path string to its bottom is too long for the kernel.
    @Test func removeTreeReachesBeyondPathMax() throws {
        let temp = try TemporaryRepository()
        let top = temp.repository.topDir + "/deep"
        try FileSystem.makeDirectories(top)
        var fd = open(top, O_RDONLY | O_DIRECTORY)
        let component = String(repeating: "d", count: 200)
        for _ in 0..<25 {
            try #require(mkdirat(fd, component, 0o700) == 0)
            let next = openat(fd, component, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        let file = openat(fd, "file", O_WRONLY | O_CREAT, 0o400)
        try #require(file >= 0)
        close(file)
        fchmod(fd, 0o500)
        close(fd)
        try FileSystem.removeTree(top)
        #expect(!FileSystem.exists(top))
    }
}

@Suite struct ContainerStoreTests {
    func makeContainer(_ store: ContainerStore, name: String? = nil) throws -> String {
        try store.create(imageName: "img:latest", configJSON: Data("{}".utf8), name: name) { root in
            try FileSystem.makeDirectories(root + "/ro/dir")
            try FileSystem.atomicWrite("x", to: root + "/ro/dir/file", mode: 0o444)
            chmod(root + "/ro/dir", 0o555)
        }
    }

    @Test func namesResolveRenameAndRemove() throws {
        let temp = try TemporaryRepository()
        let store = ContainerStore(repository: temp.repository)
        let id = try makeContainer(store, name: "first")
        #expect(ContainerStore.isID(id))
        #expect(try store.resolve("first") == id)
        try store.setName(id, "second")
        #expect(try store.names(of: id) == ["first", "second"])
        try store.rename("first", to: "third")
        #expect(try store.names(of: id) == ["second", "third"])
        try store.removeName("second")
        #expect(throws: UdockerError.self) { try store.resolve("second") }
        #expect(FileSystem.readLink(temp.repository.containerNameLink("third")) == id)
    }

    @Test(arguments: ["a/b", "a.b", "a b", "[x]", "", "12345678-1234-1234-1234-123456789abc"])
    func rejectsInvalidNames(name: String) throws {
        let temp = try TemporaryRepository()
        let store = ContainerStore(repository: temp.repository)
        let id = try makeContainer(store)
        #expect(throws: UdockerError.self) { try store.setName(id, name) }
    }

    @Test func duplicateNameIsRefusedAndNothingIsCreated() throws {
        let temp = try TemporaryRepository()
        let store = ContainerStore(repository: temp.repository)
        _ = try makeContainer(store, name: "taken")
        #expect(throws: UdockerError.self) { try makeContainer(store, name: "taken") }
        #expect(try store.ids().count == 1)
    }

    @Test func failedPopulateLeavesNothing() throws {
        let temp = try TemporaryRepository()
        let store = ContainerStore(repository: temp.repository)
        #expect(throws: UdockerError.self) {
            try store.create(imageName: "img", configJSON: nil, name: "x") { _ in throw UdockerError(.io, "boom") }
        }
        #expect(try FileSystem.list(temp.repository.containersDir).isEmpty)
    }

    @Test func removeSucceedsOnReadOnlyTreesUnlessProtected() throws {
        let temp = try TemporaryRepository()
        let store = ContainerStore(repository: temp.repository)
        let id = try makeContainer(store, name: "ro")
        try store.setProtected("ro", true)
        #expect(throws: UdockerError.self) { try store.remove("ro") }
        try store.setProtected(id, false)
        try store.remove("ro")
        #expect(try FileSystem.list(temp.repository.containersDir).isEmpty)
    }
}
