import Foundation
import Testing
@testable import UdockerCore

/// TarWriter.addTree and TreeCopy: both must reproduce a tree with its symlinks, hardlinks, modes and times.
@Suite struct ArchiveTreeTests {
    /// Builds a small tree under `dir/source` covering what a container ROOT holds.
    func makeSourceTree(_ scratch: ArchiveScratch) throws -> String {
        let source = scratch.dir + "/source"
        try FileSystem.makeDirectories(source + "/bin")
        try FileSystem.makeDirectories(source + "/empty")
        try FileSystem.atomicWrite("#!/bin/sh\necho hi\n", to: source + "/bin/tool")
        chmod(source + "/bin/tool", 0o751)
        link(source + "/bin/tool", source + "/bin/tool-hardlink")
        symlink("tool", source + "/bin/tool-symlink")
        symlink("/nonexistent/absolute", source + "/dangling")
        try FileSystem.atomicWrite(Data(repeating: 7, count: 3 << 20), to: source + "/big")
        var times = [timespec(tv_sec: 1_111_111_111, tv_nsec: 0), timespec(tv_sec: 1_111_111_111, tv_nsec: 0)]
        utimensat(AT_FDCWD, source + "/big", &times, 0)
        chmod(source + "/empty", 0o750)
        utimensat(AT_FDCWD, source + "/empty", &times, 0)
        return source
    }

    func checkCopy(of source: String, at copy: String) throws {
        #expect(try FileSystem.readString(copy + "/bin/tool") == "#!/bin/sh\necho hi\n")
        #expect(try FileSystem.read(copy + "/big") == Data(repeating: 7, count: 3 << 20))
        #expect(FileSystem.readLink(copy + "/bin/tool-symlink") == "tool")
        #expect(FileSystem.readLink(copy + "/dangling") == "/nonexistent/absolute")
        var tool = stat(), hard = stat(), big = stat(), empty = stat()
        lstat(copy + "/bin/tool", &tool)
        lstat(copy + "/bin/tool-hardlink", &hard)
        lstat(copy + "/big", &big)
        lstat(copy + "/empty", &empty)
        #expect(tool.st_ino == hard.st_ino)
        #expect(tool.st_mode & 0o7777 == 0o751)
        #expect(empty.st_mode & 0o7777 == 0o750)
        #expect(big.st_mtim.tv_sec == 1_111_111_111)
        #expect(empty.st_mtim.tv_sec == 1_111_111_111)
    }

    @Test(arguments: [false, true])
    func tarOfATreeExtractsToTheSameTree(gzip: Bool) throws {
        let scratch = try ArchiveScratch()
        let source = try makeSourceTree(scratch)
        let tarball = scratch.dir + "/tree.tar"
        let fd = open(tarball, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try TarWriter.write(directory: source, to: fd, gzip: gzip)
        close(fd)
        try LayerExtractor.extractPlain(.file(tarball), into: scratch.root)
        try checkCopy(of: source, at: scratch.root)
        #expect(scratch.tree() == scratch.tree(source))
    }

    @Test func treeCopyPreservesEverythingIncludingHoles() throws {
        let scratch = try ArchiveScratch()
        let source = try makeSourceTree(scratch)
        let fd = open(source + "/sparse", O_WRONLY | O_CREAT, 0o644)
        _ = pwrite(fd, "end", 3, 256 << 20)
        close(fd)
        let copy = scratch.dir + "/copy"
        try FileSystem.makeDirectories(copy)
        try TreeCopy.copy(source, into: copy)
        try checkCopy(of: source, at: copy)
        #expect(scratch.tree(copy) == scratch.tree(source))
        var st = stat()
        stat(copy + "/sparse", &st)
        #expect(st.st_size == (256 << 20) + 3)
        #expect(Int(st.st_blocks) * 512 < 1 << 20)
    }

    @Test func tarOutputToAFileAppearsOnlyWhenComplete() throws {
        let scratch = try ArchiveScratch()
        let target = scratch.dir + "/out.tar"
        #expect(throws: UdockerError.self) {
            try TarOutput.file(target).write { fd in
                let writer = try TarWriter(descriptor: fd)
                try writer.add(.file("a", "a"))
                throw UdockerError(.io, "interrupted")
            }
        }
        #expect(!FileSystem.exists(target))
        #expect(try FileSystem.list(scratch.dir).filter { $0.hasPrefix(".out") }.isEmpty)
        try TarOutput.file(target).write { fd in
            let writer = try TarWriter(descriptor: fd)
            try writer.add(.file("a", "a"))
            try writer.finish()
        }
        try LayerExtractor.extractPlain(.file(target), into: scratch.root)
        #expect(scratch.text("a") == "a")
    }

    @Test func inspectingALayerGivesItsDigestAndDiffID() throws {
        let scratch = try ArchiveScratch()
        let entries: [TarEntry] = [.file("a", "content")]
        let plain = try scratch.layer("plain.tar", entries)
        let compressed = try scratch.layer("compressed.tar.gz", gzip: true, entries)
        let diffID = try Digest.sha256(file: plain)
        #expect(try ArchiveInspector.inspectLayer(plain) == LayerDigests(digest: diffID, diffID: diffID))
        // gzip output is deterministic here: same members, same times.
        #expect(try ArchiveInspector.inspectLayer(compressed) == LayerDigests(digest: try Digest.sha256(file: compressed), diffID: diffID))
    }

    /// A layer must be a whole tar archive: cut in a member's data, in a header, where the end-of-archive marker
    /// should be, or in its compressed stream, it is refused; so is what is no tar at all.
    @Test(arguments: ["in the data", "in a header", "before the end marker", "in the gzip stream", "not a tar", "empty"])
    func aLayerThatIsNotAWholeTarIsRefused(damage: String) throws {
        let scratch = try ArchiveScratch()
        let entries: [TarEntry] = [.file("big", String(repeating: "x", count: 100_000)), .file("after", "after")]
        let plain = try FileSystem.read(try scratch.layer("plain.tar", entries))
        let gzip = try FileSystem.read(try scratch.layer("plain.tar.gz", gzip: true, entries))
        let afterBig = 512 + 100_352  // the first member's header and padded data
        let bytes: Data
        switch damage {
        case "in the data": bytes = plain.prefix(512 + 50_000)
        case "in a header": bytes = plain.prefix(afterBig + 100)
        case "before the end marker": bytes = plain.prefix(afterBig + 1024)
        case "in the gzip stream": bytes = gzip.prefix(gzip.count - 30)
        case "not a tar": bytes = Data(String(repeating: "not a tar archive ", count: 100).utf8)
        default: bytes = Data()
        }
        let path = scratch.dir + "/damaged"
        try FileSystem.atomicWrite(bytes, to: path)
        let error = #expect(throws: UdockerError.self) { try ArchiveInspector.inspectLayer(path) }
        #expect(error?.code == .invalidInput, "\(String(describing: error))")
        let expected = ["not a tar", "empty"].contains(damage) ? "not a tar archive" : "truncated"
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }
}
