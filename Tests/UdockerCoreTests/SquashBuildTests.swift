import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// What a tree holds, one line per path, as a user comparing two trees would look at it: type and mode, owner,
/// size and content digest (files), target (symlinks), and for a hard-linked file the first of its names.
/// Directory sizes and times differ between file systems and are left out.
enum TreeListing {
    static func of(_ root: String) throws -> [String] {
        var lines: [String] = [], firstName: [UInt64: String] = [:]
        func scan(_ relative: String) throws {
            for name in try FileSystem.list(root + relative).sorted() {
                let path = relative + "/" + name
                var st = stat()
                guard lstat(root + path, &st) == 0 else { throw UdockerError.posix("cannot stat", root + path) }
                var line = "\(path) \(String(st.st_mode, radix: 8)) \(st.st_uid):\(st.st_gid)"
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    lines.append(line)
                    try scan(path)
                    continue
                case S_IFLNK: line += " -> " + (FileSystem.readLink(root + path) ?? "?")
                default:
                    line += " \(st.st_size) " + (try Digest.sha256(file: root + path))
                    if st.st_nlink > 1 {
                        let first = firstName[UInt64(st.st_ino)] ?? path
                        firstName[UInt64(st.st_ino)] = first
                        line += " linked to " + first
                    }
                }
                lines.append(line)
            }
        }
        try scan("")
        return lines
    }

    /// `unsquashfs -lln`'s view (the stock tool reading the image's tables): "mode owner [size] path [-> target]".
    static func unsquashfsListing(_ image: String) throws -> [String] {
        let result = try Command.run(["unsquashfs", "-lln", image], timeout: .seconds(120))
        guard result.succeeded else { throw TestSupportError("unsquashfs -lln failed:\n\(result)") }
        return result.lines.compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, let path = fields[5].split(separator: "/", maxSplits: 1).dropFirst().first else { return nil }
            let size = fields[0].hasPrefix("d") ? "" : " " + fields[2]
            return "\(fields[0]) \(fields[1])\(size) /\(path)" + fields.dropFirst(6).map { " " + $0 }.joined()
        }.sorted()
    }

    /// The same view of a directory tree, for comparison with `unsquashfsListing`.
    static func lsStyle(_ root: String) throws -> [String] {
        var lines: [String] = []
        func scan(_ relative: String) throws {
            for name in try FileSystem.list(root + relative) {
                let path = relative + "/" + name
                var st = stat()
                lstat(root + path, &st)
                let type = st.st_mode & S_IFMT
                let size = type == S_IFDIR ? "" : " \(st.st_size)"
                let target = type == S_IFLNK ? " -> " + (FileSystem.readLink(root + path) ?? "?") : ""
                lines.append("\(modeString(st.st_mode)) \(st.st_uid)/\(st.st_gid)\(size) \(path)\(target)")
                if type == S_IFDIR { try scan(path) }
            }
        }
        try scan("")
        return lines.sorted()
    }

    private static func modeString(_ mode: mode_t) -> String {
        let type: Character = switch mode & S_IFMT { case S_IFDIR: "d"; case S_IFLNK: "l"; default: "-" }
        var text = String(type)
        for (index, letter) in "rwxrwxrwx".enumerated() {
            let bit = mode_t(1) << mode_t(8 - index)
            var shown: Character = mode & bit != 0 ? letter : "-"
            if index == 8 && mode & S_ISVTX != 0 { shown = mode & bit != 0 ? "t" : "T" }
            text.append(shown)
        }
        return text
    }
}

/// A scratch directory for one comparison: the layers, the `create` tree, the SquashFS and what unsquashfs
/// extracts from it.
final class SquashScratch {
    let dir: String
    var created: String { dir + "/created" }
    var image: String { dir + "/image.sqfs" }
    var unpacked: String { dir + "/unpacked" }

    init() throws {
        dir = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udsquash-")
        try FileSystem.makeDirectories(created)
    }

    deinit { try? FileSystem.removeTree(dir) }

    func layer(_ name: String, _ entries: [TarEntry]) throws -> String {
        let path = dir + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let writer = try TarWriter(descriptor: fd, gzip: true)
        for entry in entries { try writer.add(entry) }
        try writer.finish()
        return path
    }

    /// Extracts the layers as `create` does and builds their SquashFS, then unpacks that with unsquashfs;
    /// expects the two trees, and unsquashfs's listing of the image, to be the same.
    func expectSameTree(_ layers: [String]) throws {
        try LayerExtractor.extract(layers: layers, into: created)
        try SquashImageBuilder.build(layers: layers, to: image)
        let unpack = try Command.run(["unsquashfs", "-no-progress", "-d", unpacked, image], timeout: .seconds(300))
        #expect(unpack.succeeded, "\(unpack)")
        let expected = try TreeListing.of(created), actual = try TreeListing.of(unpacked)
        #expect(!expected.isEmpty)
        #expect(actual == expected, "first difference: \(zip(actual, expected).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "count")")
        #expect(try TreeListing.unsquashfsListing(image) == TreeListing.lsStyle(created))
    }
}

/// SquashFS images built from an image's layers without extracting them (issue 17 item 1): what stock tools
/// read from the image is exactly the tree `udocker create` extracts, the bytes are the same every time, and a
/// hostile layer is refused as `create` refuses it. Needs libsquashfs and unsquashfs (`make deps`).
@Suite struct SquashBuildTests {
    @Test func holdsWhatCreateExtractsFromCraftedLayers() throws {
        let scratch = try SquashScratch()
        let lower = try scratch.layer("lower.tar.gz", [
            .directory("usr/lib"), .symlink("lib", to: "usr/lib"),
            .file("usr/lib/libc.so", "libc"), .file("etc/passwd", "root:x:0:0\n", mode: 0o640),
            .file("bin/su", "setuid", mode: 0o4755), .directory("tmp", mode: 0o1777), .directory("ro", mode: 0o555),
            .file("bin/tool", "tool"), .hardlink("bin/tool-again", to: "bin/tool"),
            .file("linked", "shared"), .hardlink("other-name", to: "linked"),
            .directory("opq/sub"), .file("opq/a", "a"), .file("opq/sub/b", "b"),
            .file("top-gone", "x"), .directory("dir-gone"), .file("dir-gone/f", "f"),
            .file("data/old.txt", "old"), .file("data/keep.txt", "keep"),
            TarEntry("dev/null", .fifo), TarEntry("sparse", .file(Data(count: 300_000))),
        ])
        let upper = try scratch.layer("upper.tar.gz", [
            .file(".wh.top-gone", ""), .file("./.wh.dir-gone", ""), .file("data/.wh.old.txt", ""),
            .directory("opq"), .file("opq/.wh..wh..opq", ""), .file("opq/fresh", "fresh"),
            .file("lib/libm.so", "written through the lib symlink"),
            .file("linked", "rewritten"), .hardlink("bin/third", to: "bin/tool"),
            .file("data/new.txt", "new"), .symlink("data/link", to: "../etc/passwd"),
        ])
        try scratch.expectSameTree([lower, upper])
        // The same names, checked by hand, so that a bug shared by both paths still shows.
        let listing = try TreeListing.of(scratch.unpacked)
        #expect(!listing.contains { $0.hasPrefix("/top-gone") || $0.hasPrefix("/dir-gone") || $0.hasPrefix("/data/old.txt") })
        #expect(listing.filter { $0.hasPrefix("/opq/") }.map { $0.split(separator: " ")[0] } == ["/opq/fresh"])
        #expect(listing.contains { $0.hasPrefix("/usr/lib/libm.so ") })
        #expect(listing.contains { $0.hasPrefix("/bin/third ") && $0.hasSuffix("linked to /bin/third") })
        #expect(!listing.contains { $0.hasPrefix("/dev/null") })
    }

    @Test func holdsWhatCreateExtractsFromTheBusyboxImage() throws {
        let image = try Fixtures.busybox()
        let layers = image.layerDigests.map { image.ociLayout + "/blobs/" + $0.replacingOccurrences(of: ":", with: "/") }
        let scratch = try SquashScratch()
        try scratch.expectSameTree(layers)
        let listing = try TreeListing.of(scratch.unpacked)
        for deleted in BusyboxFixture.deletedPaths { #expect(!listing.contains { $0.hasPrefix(deleted + " ") }) }
    }

    @Test func holdsWhatCreateExtractsFromADebianRootfs() throws {
        let scratch = try SquashScratch()
        try scratch.expectSameTree([try DebianRootfs.tarball("bookworm")])
    }

    @Test func theSameLayersGiveTheSameBytes() throws {
        let image = try Fixtures.busybox()
        let layers = image.layerDigests.map { image.ociLayout + "/blobs/" + $0.replacingOccurrences(of: ":", with: "/") }
        let scratch = try SquashScratch()
        try SquashImageBuilder.build(layers: layers, to: scratch.dir + "/first.sqfs")
        sleep(1)  // a build time written anywhere would now differ
        try SquashImageBuilder.build(layers: layers, to: scratch.dir + "/second.sqfs")
        let first = try Digest.sha256(file: scratch.dir + "/first.sqfs")
        #expect(first == (try Digest.sha256(file: scratch.dir + "/second.sqfs")))
        #expect(FileSystem.size(scratch.dir + "/first.sqfs") % 4096 == 0)
    }

    @Test(arguments: [
        ("dotdot", TarEntry.file("../escape", "x"), "path ../escape has a .. component"),
        ("absolute", TarEntry.file("/etc/evil", "x"), "absolute path /etc/evil"),
        ("hardlink-out", TarEntry.hardlink("evil", to: "../../etc/passwd"), ".."),
        ("hardlink-missing", TarEntry.hardlink("evil", to: "no/such/file"), "hardlink target no/such/file not found"),
        ("whiteout-dotdot", TarEntry.file("a/.wh...", ""), "whiteout of .."),
    ])
    func refusesAHostileLayerWithOneLine(_ name: String, _ entry: TarEntry, _ reason: String) throws {
        let scratch = try SquashScratch()
        let layer = try scratch.layer(name + ".tar.gz", [.file("ok", "fine"), entry])
        let error = #expect(throws: UdockerError.self) { try SquashImageBuilder.build(layers: [layer], to: scratch.image) }
        let text = error?.description ?? ""
        #expect(text.contains(reason) && text.contains(name + ".tar.gz") && !text.contains("\n"), "\(text)")
        #expect(!FileSystem.exists(scratch.image))
        #expect(try FileSystem.list(scratch.dir).filter { $0.hasPrefix(".") }.isEmpty, "a temporary was left behind")
        // create refuses the same layer.
        #expect(throws: UdockerError.self) { try LayerExtractor.extract(layers: [layer], into: scratch.created) }
    }
}
