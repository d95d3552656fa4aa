import Foundation
import Testing
@testable import UdockerCore

/// export, import --tocontainer, import --clone and clone, through ContainerTransfer.
@Suite struct ArchiveContainerTests {
    let scratch: ArchiveScratch
    let repo: TemporaryRepository
    let images: ImageFixtures
    var containers: ContainerStore { ContainerStore(repository: repo.repository) }
    var transfer: ContainerTransfer { ContainerTransfer(store: containers) }

    init() throws {
        scratch = try ArchiveScratch()
        repo = try TemporaryRepository()
        images = ImageFixtures(scratch: scratch, repository: repo.repository)
    }

    /// A container from the fixture image, with a hardlink, a symlink and a read-only file added to ROOT.
    func makeContainer(name: String? = nil) throws -> String {
        let id = try containers.create(from: try images.storeImage("app:1"), name: name)
        let root = repo.repository.containerRoot(id)
        link(root + "/bin/sh", root + "/bin/sh-hardlink")
        symlink("/bin/sh", root + "/bin/sh-symlink")
        try FileSystem.atomicWrite("ro", to: root + "/etc/readonly", mode: 0o444)
        try FileSystem.atomicWrite("P1", to: repo.repository.containerFile(id, .execMode))
        return id
    }

    func tree(_ id: String, _ sub: String = "/ROOT") -> [String] { scratch.tree(repo.repository.containerDir(id) + sub) }

    func inode(_ id: String, _ path: String) -> ino_t {
        var st = stat()
        lstat(repo.repository.containerRoot(id) + "/" + path, &st)
        return st.st_ino
    }

    @Test func exportThenImportToContainerGivesTheSameFiles() throws {
        let id = try makeContainer()
        let tarball = scratch.dir + "/export.tar"
        try transfer.export(id, to: .file(tarball))
        let config = try ImageImporter.configuration(platform: nil)
        let copy = try transfer.importContainer(from: .file(tarball), imageName: "IMPORTED:unknown", configJSON: config, name: "imported")
        #expect(tree(copy) == tree(id))
        #expect(inode(copy, "bin/sh") == inode(copy, "bin/sh-hardlink"))
        #expect(FileSystem.readLink(repo.repository.containerRoot(copy) + "/bin/sh-symlink") == "/bin/sh")
        #expect(try FileSystem.readString(repo.repository.containerFile(copy, .imageRepoName)) == "IMPORTED:unknown")
        #expect(try containers.resolve("imported") == copy)
    }

    @Test func cloneExportKeepsTheBookkeeping() throws {
        let id = try makeContainer()
        let tarball = scratch.dir + "/clone.tar"
        try transfer.export(id, to: .file(tarball), clone: true)
        let copy = try transfer.importClone(from: .file(tarball), name: "restored")
        #expect(copy != id)
        #expect(tree(copy, "") == tree(id, ""))
        #expect(try FileSystem.readString(repo.repository.containerFile(copy, .execMode)) == "P1")
        #expect(try containers.imageConfig(copy).cmd == ["/app/run"])
        #expect(try containers.resolve("restored") == copy)
    }

    @Test func cloneCopiesEverythingUnderANewID() throws {
        let id = try makeContainer(name: "original")
        let copy = try transfer.clone("original", name: "copy")
        #expect(copy != id && ContainerStore.isID(copy))
        #expect(tree(copy, "") == tree(id, ""))
        #expect(inode(copy, "bin/sh") == inode(copy, "bin/sh-hardlink"))
        #expect(inode(copy, "bin/sh") != inode(id, "bin/sh"))
        #expect(try FileSystem.readString(repo.repository.containerRoot(copy) + "/etc/readonly") == "ro")
        try containers.remove(copy)
        #expect(!FileSystem.exists(repo.repository.containerDir(copy)))
        #expect(FileSystem.exists(repo.repository.containerRoot(id) + "/bin/sh"))
    }

    @Test func failuresLeaveNoContainerBehind() throws {
        let id = try makeContainer(name: "taken")
        let before = images.repositorySnapshot
        #expect(throws: UdockerError.self) { try transfer.clone(id, name: "taken") }
        #expect(throws: UdockerError.self) { try transfer.clone("no-such-container", name: nil) }
        let notAClone = try scratch.layer("plain.tar", [.file("etc/passwd", "x")])
        #expect(throws: UdockerError.self) { try transfer.importClone(from: .file(notAClone), name: nil) }
        let hostile = try scratch.layer("hostile.tar", [.directory("ROOT"), .file("../escape", "x")])
        #expect(throws: UdockerError.self) { try transfer.importClone(from: .file(hostile), name: nil) }
        #expect(throws: UdockerError.self) {
            try transfer.importContainer(from: .file(hostile), imageName: "x:y", configJSON: Data("{}".utf8), name: nil)
        }
        #expect(images.repositorySnapshot == before)
        #expect(scratch.outsideIsUntouched)
    }
}
