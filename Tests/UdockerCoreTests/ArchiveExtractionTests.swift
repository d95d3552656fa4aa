import Foundation
import Testing
@testable import UdockerCore

/// A scratch directory holding crafted layers, the extraction ROOT, and a sibling `outside` directory with a
/// `secret` file that no archive may reach.
final class ArchiveScratch {
    let dir: String
    var root: String { dir + "/ROOT" }
    var outside: String { dir + "/outside" }

    init() throws {
        dir = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udarchive-")
        try FileSystem.makeDirectories(root)
        try FileSystem.makeDirectories(outside)
        try FileSystem.atomicWrite("untouched", to: outside + "/secret")
    }

    deinit { try? FileSystem.removeTree(dir) }

    /// Writes `entries` as a tar file named `name` in the scratch directory; returns its path.
    @discardableResult
    func layer(_ name: String, gzip: Bool = false, _ entries: [TarEntry]) throws -> String {
        let path = dir + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let writer = try TarWriter(descriptor: fd, gzip: gzip)
        for entry in entries { try writer.add(entry) }
        try writer.finish()
        return path
    }

    func extract(_ layers: [String]) throws { try LayerExtractor.extract(layers: layers, into: root) }

    func text(_ path: String) -> String? { try? FileSystem.readString(root + "/" + path) }

    /// Every path under `directory`, relative to it, sorted.
    func tree(_ directory: String? = nil) -> [String] {
        let top = directory ?? root
        var found: [String] = []
        func scan(_ relative: String) {
            for name in (try? FileSystem.list(top + relative)) ?? [] {
                let path = relative + "/" + name
                found.append(String(path.dropFirst()))
                if FileSystem.isDirectory(top + path) { scan(path) }
            }
        }
        scan("")
        return found.sorted()
    }

    var outsideIsUntouched: Bool {
        tree(outside) == ["secret"] && (try? FileSystem.readString(outside + "/secret")) == "untouched"
    }

    func mode(_ path: String) -> mode_t {
        var st = stat()
        lstat(root + "/" + path, &st)
        return st.st_mode & 0o7777
    }
}

@Suite struct ArchiveExtractionTests {
    @Test(arguments: [false, true])
    func extractsFilesDirectoriesLinksAndTimes(gzip: Bool) throws {
        let scratch = try ArchiveScratch()
        let layer = try scratch.layer("layer.tar", gzip: gzip, [
            .directory("etc"),
            TarEntry("etc/passwd", .file(Data("root:x:0:0\n".utf8)), mode: 0o640, modificationTime: 1_000_000_000),
            .directory("bin"),
            .file("bin/tool", "#!/bin/sh\n", mode: 0o755),
            .symlink("bin/alias", to: "tool"),
            .hardlink("bin/same", to: "bin/tool"),
            .file("implied/parent/file", "deep"),
            TarEntry("stamped", .directory, modificationTime: 1_200_000_000),
            .file("stamped/inside", "written after the directory"),
        ])
        try scratch.extract([layer])

        #expect(scratch.text("etc/passwd") == "root:x:0:0\n")
        #expect(scratch.mode("etc/passwd") == 0o640)
        #expect(scratch.mode("bin/tool") == 0o755)
        #expect(FileSystem.readLink(scratch.root + "/bin/alias") == "tool")
        #expect(scratch.text("implied/parent/file") == "deep")
        var tool = stat(), same = stat(), passwd = stat(), stamped = stat()
        stat(scratch.root + "/bin/tool", &tool)
        stat(scratch.root + "/bin/same", &same)
        stat(scratch.root + "/etc/passwd", &passwd)
        stat(scratch.root + "/stamped", &stamped)
        #expect(tool.st_ino == same.st_ino)
        #expect(passwd.st_mtim.tv_sec == 1_000_000_000)
        #expect(stamped.st_mtim.tv_sec == 1_200_000_000)
    }

    @Test func laterLayersReplaceEarlierOnesWhateverTheType() throws {
        let scratch = try ArchiveScratch()
        try FileSystem.makeDirectories(scratch.dir + "/target-dir")
        let lower = try scratch.layer("lower.tar", [
            .directory("was-dir"), .file("was-dir/content", "x"),
            .file("was-file", "x"),
            .symlink("was-link", to: scratch.dir + "/target-dir"),
            .file("same", "old"),
            .file("linked", "shared"), .hardlink("other-name", to: "linked"),
        ])
        let upper = try scratch.layer("upper.tar", [
            .file("was-dir", "now a file"),
            .directory("was-file"), .file("was-file/inside", "y"),
            .directory("was-link"), .file("was-link/inside", "z"),
            .file("same", "new"),
            .file("linked", "rewritten"),
        ])
        try scratch.extract([lower, upper])

        #expect(scratch.text("was-dir") == "now a file")
        #expect(scratch.text("was-file/inside") == "y")
        #expect(FileSystem.isDirectory(scratch.root + "/was-link"))
        #expect(try FileSystem.list(scratch.dir + "/target-dir").isEmpty)
        #expect(scratch.text("same") == "new")
        // Rewriting one name of a hardlinked file leaves the other name's content alone.
        #expect(scratch.text("linked") == "rewritten")
        #expect(scratch.text("other-name") == "shared")
    }

    @Test func whiteoutsRemoveLowerContentAtEveryDepth() throws {
        let scratch = try ArchiveScratch()
        let lower = try scratch.layer("lower.tar", [
            .file("top-file", "x"), .directory("top-dir"), .file("top-dir/a", "a"),
            .directory("etc"), .file("etc/keep", "k"), .file("etc/gone", "g"),
            .directory("a/b/c"), .file("a/b/c/deep", "d"), .symlink("a/link", to: "/etc"),
        ])
        let upper = try scratch.layer("upper.tar", [
            .file(".wh.top-file", ""), .file("./.wh.top-dir", ""),
            .file("etc/.wh.gone", ""), .file("a/b/c/.wh.deep", ""), .file("a/.wh.link", ""),
            .file("etc/.wh.never-existed", ""), .file("missing/dir/.wh.x", ""),
        ])
        try scratch.extract([lower, upper])
        #expect(scratch.tree() == ["a", "a/b", "a/b/c", "etc", "etc/keep"])
    }

    @Test(arguments: ["first", "middle", "last"])
    func opaqueDirectoryKeepsOnlyWhatItsLayerAdds(markerPosition: String) throws {
        let scratch = try ArchiveScratch()
        let lower = try scratch.layer("lower.tar", [
            .directory("d"), .file("d/old", "o"), .directory("d/sub"), .file("d/sub/old", "o"),
            .file("d/replaced", "old"), .file("beside", "b"),
        ])
        let marker = TarEntry.file("d/.wh..wh..opq", "")
        var entries: [TarEntry] = [.directory("d"), .file("d/new", "n"), .file("d/sub/new", "n"), .file("d/replaced", "new")]
        switch markerPosition {
        case "first": entries.insert(marker, at: 1)
        case "middle": entries.insert(marker, at: 2)
        default: entries.append(marker)
        }
        try scratch.extract([lower, try scratch.layer("upper.tar", entries)])
        #expect(scratch.tree() == ["beside", "d", "d/new", "d/replaced", "d/sub", "d/sub/new"])
        #expect(scratch.text("d/replaced") == "new")
    }

    @Test func opaqueMarkerAtTheTopLevelEmptiesTheRoot() throws {
        let scratch = try ArchiveScratch()
        let lower = try scratch.layer("lower.tar", [.file("old", "o"), .directory("olddir")])
        let upper = try scratch.layer("upper.tar", [.file("new", "n"), .file(".wh..wh..opq", "")])
        try scratch.extract([lower, upper])
        #expect(scratch.tree() == ["new"])
    }

    @Test func whiteoutNeverRemovesWhatTheSameLayerWrote() throws {
        let scratch = try ArchiveScratch()
        let lower = try scratch.layer("lower.tar", [.file("f", "lower")])
        let upper = try scratch.layer("upper.tar", [.file("f", "upper"), .file(".wh.f", ""), .file(".wh..wh.plnk", "")])
        try scratch.extract([lower, upper])
        #expect(scratch.tree() == ["f"])
        #expect(scratch.text("f") == "upper")
    }

    @Test func plainExtractionKeepsWhiteoutNamesAsFiles() throws {
        let scratch = try ArchiveScratch()
        let tarball = try scratch.layer("plain.tar", [.file("d/.wh.x", "kept"), .file("d/.wh..wh..opq", "")])
        try LayerExtractor.extractPlain(.file(tarball), into: scratch.root)
        #expect(scratch.tree() == ["d", "d/.wh..wh..opq", "d/.wh.x"])
    }

    /// Each case is a list of layers; none may create or change anything outside ROOT.
    static let escapes: [(String, [[TarEntry]])] = [
        ("dot-dot name", [[.file("../outside/secret", "pwned")]]),
        ("dot-dot inside a name", [[.file("a/../../outside/pwned", "pwned")]]),
        ("absolute name", [[.file("SCRATCH/outside/pwned", "pwned")]]),
        ("hardlink out by dot-dot", [[.hardlink("h", to: "../outside/secret")]]),
        ("hardlink to an absolute path", [[.hardlink("h", to: "SCRATCH/outside/secret")]]),
        ("whiteout of dot-dot", [[.file(".wh...", "")]]),
    ]

    @Test(arguments: escapes)
    func hostileMembersFailNamingTheMember(label: String, layers: [[TarEntry]]) throws {
        let scratch = try ArchiveScratch()
        let files = try layers.enumerated().map { index, entries in
            try scratch.layer("layer\(index).tar", entries.map { entry in
                var entry = entry
                entry.name = entry.name.replacingOccurrences(of: "SCRATCH", with: scratch.dir)
                if case .hardlink(let target) = entry.kind {
                    entry.kind = .hardlink(target.replacingOccurrences(of: "SCRATCH", with: scratch.dir))
                }
                return entry
            })
        }
        do {
            try scratch.extract(files)
            Issue.record("\(label): extraction succeeded")
        } catch let error as UdockerError {
            #expect(error.description.contains("member "), "\(label): \(error)")
        }
        #expect(scratch.outsideIsUntouched, "\(label)")
        #expect(!FileSystem.exists(scratch.dir + "/pwned"))
    }

    /// Symlinks met on the way to a member resolve inside ROOT, as the container sees them: whatever they
    /// point at, what is written lands under ROOT.
    static let redirections: [(String, [[TarEntry]], String)] = [
        ("absolute symlink, same layer",
         [[.symlink("evil", to: "SCRATCH/outside"), .file("evil/pwned", "x")]], "SCRATCH/outside/pwned"),
        ("dot-dot symlink, same layer",
         [[.symlink("evil", to: "../../../../../../.."), .file("evil/pwned", "x")]], "pwned"),
        ("absolute symlink, across layers",
         [[.symlink("evil", to: "SCRATCH/outside")], [.file("evil/pwned", "x")]], "SCRATCH/outside/pwned"),
        ("symlinked directory, then a file below a new directory in it",
         [[.directory("d"), .symlink("d/up", to: "../../outside")], [.file("d/up/sub/pwned", "x")]], "outside/sub/pwned"),
        ("chain of symlinks",
         [[.symlink("a", to: "b"), .symlink("b", to: "/c/../../.."), .file("a/pwned", "x")]], "pwned"),
        ("symlink to a symlink leading outside, hardlinked, then written",
         [[.symlink("s", to: "SCRATCH/outside/secret"), .hardlink("h", to: "s")], [.file("h", "x"), .file("s", "y")]], "h"),
    ]

    @Test(arguments: redirections)
    func symlinksOnTheWayResolveInsideTheRoot(label: String, layers: [[TarEntry]], landsAt: String) throws {
        let scratch = try ArchiveScratch()
        let fix = { (text: String) in text.replacingOccurrences(of: "SCRATCH/", with: String(scratch.dir.dropFirst()) + "/") }
        let files = try layers.enumerated().map { index, entries in
            try scratch.layer("layer\(index).tar", entries.map { entry in
                var entry = entry
                if case .symlink(let target) = entry.kind {
                    entry.kind = .symlink(target.replacingOccurrences(of: "SCRATCH", with: scratch.dir))
                }
                return entry
            })
        }
        try scratch.extract(files)
        #expect(scratch.outsideIsUntouched, "\(label)")
        #expect(scratch.text(fix(landsAt)) == "x", "\(label): \(scratch.tree())")
    }

    @Test func symlinkLoopsAreAnError() throws {
        let scratch = try ArchiveScratch()
        let layer = try scratch.layer("loop.tar", [.symlink("a", to: "b"), .symlink("b", to: "a"), .file("a/x", "x")])
        #expect(throws: UdockerError.self) { try scratch.extract([layer]) }
    }

    @Test func modesKeepExecBitsButStayRemovable() throws {
        let scratch = try ArchiveScratch()
        let layer = try scratch.layer("modes.tar", [
            .directory("locked", mode: 0o555), .file("locked/file", "r", mode: 0o444),
            .directory("closed", mode: 0o000), .file("closed/none", "", mode: 0o000),
            .file("setuid", "", mode: 0o4755), .directory("setgid", mode: 0o2775), .directory("tmp", mode: 0o1777),
        ])
        try scratch.extract([layer])
        #expect(scratch.mode("locked") == 0o755)
        #expect(scratch.mode("locked/file") == 0o644)
        #expect(scratch.mode("closed") == 0o700)
        #expect(scratch.mode("closed/none") == 0o600)
        #expect(scratch.mode("setuid") == 0o755)
        #expect(scratch.mode("setgid") == 0o775)
        #expect(scratch.mode("tmp") == 0o1777)
        try FileSystem.removeTree(scratch.root)
        #expect(!FileSystem.exists(scratch.root))
    }

    @Test func longNamesAndLinkTargets() throws {
        let scratch = try ArchiveScratch()
        let deep = (1...12).map { "directory-component-\($0)" }.joined(separator: "/")
        let longName = deep + "/" + String(repeating: "n", count: 200)
        let layer = try scratch.layer("long.tar", [
            .file(longName, "long"), .symlink("link", to: longName), .hardlink("hard", to: longName),
        ])
        try scratch.extract([layer])
        #expect(scratch.text(longName) == "long")
        #expect(FileSystem.readLink(scratch.root + "/link") == longName)
        #expect(scratch.text("hard") == "long")
    }

    @Test func specialFilesAreSkipped() throws {
        let scratch = try ArchiveScratch()
        try scratch.extract([try scratch.layer("fifo.tar", [TarEntry("dev/pipe", .fifo), .file("after", "a")])])
        #expect(scratch.tree() == ["after"])
    }

    @Test func hardlinkTargetsMustExistAndNotBeDirectories() throws {
        let scratch = try ArchiveScratch()
        let missing = try scratch.layer("missing.tar", [.hardlink("h", to: "nowhere")])
        let directory = try scratch.layer("dir.tar", [.directory("d"), .hardlink("h", to: "d")])
        #expect(throws: UdockerError.self) { try scratch.extract([missing]) }
        #expect(throws: UdockerError.self) { try scratch.extract([directory]) }
    }

    @Test func hardlinkToALowerLayerFile() throws {
        let scratch = try ArchiveScratch()
        let lower = try scratch.layer("lower.tar", [.file("usr/bin/python3.11", "py")])
        let upper = try scratch.layer("upper.tar", [.hardlink("usr/bin/python3", to: "usr/bin/python3.11")])
        try scratch.extract([lower, upper])
        #expect(scratch.text("usr/bin/python3") == "py")
    }

    /// GNU tar writes the member: a sparse file under a GNU long name (our writer writes pax, and no holes).
    @Test func sparseFilesKeepTheirHoles() throws {
        let scratch = try ArchiveScratch()
        let name = String(repeating: "sparse-", count: 25)
        let source = scratch.dir + "/sparse-src"
        try FileSystem.makeDirectories(source)
        let fd = open(source + "/" + name, O_WRONLY | O_CREAT, 0o644)
        _ = pwrite(fd, "data", 4, 64 << 20)
        ftruncate(fd, 128 << 20)
        close(fd)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["--format=gnu", "-S", "-C", source, "-cf", scratch.dir + "/sparse.tar", name]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)

        try scratch.extract([scratch.dir + "/sparse.tar"])
        var st = stat()
        stat(scratch.root + "/" + name, &st)
        #expect(st.st_size == 128 << 20)
        #expect(Int(st.st_blocks) * 512 < 1 << 20)
        let data = try FileSystem.read(scratch.root + "/" + name)
        #expect(data[(64 << 20)..<((64 << 20) + 4)] == Data("data".utf8))
    }

    @Test(arguments: ["not a tarball at all, just some text that is long enough to be looked at", ""])
    func unreadableInputIsAnError(content: String) throws {
        let scratch = try ArchiveScratch()
        let path = scratch.dir + "/bad.tar"
        try FileSystem.atomicWrite(content.isEmpty ? Data([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6]) : Data(content.utf8), to: path)
        #expect(throws: UdockerError.self) { try scratch.extract([path]) }
    }
}
