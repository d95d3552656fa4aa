import Foundation
import Testing
import TestSupport
import CommandExpectations

/// Issue 17 on one node: U1 runs an image or a published SquashFS mounted by the step's keeper, with /dev/fuse as
/// users have it (0666); the tree it shows is the one `udocker create` extracts; the node keeps only metadata;
/// hostile files are refused before anything runs; a killed server stops its ranks with one line; with /dev/fuse
/// 0600 the launcher extracts instead and says why.
@Suite(.serialized, .enabled(if: TestUser.isRunningAsRoot, "sets /dev/fuse's mode, which needs root"))
struct MountedImageTests {
    static func node(_ label: String = #function, images: [FixtureImage]) throws -> LaunchNode {
        let node = try LaunchNode(label)
        for image in images { try node.sandbox.load(image) }
        return node
    }

    /// Every path under / on the container's own file system: "path mode-hex size" (no size for directories) and
    /// "path -> target" for links, less the mount points of the run's binds, whose stat is the bound file's.
    static let listing = "find / -xdev -mindepth 1 -exec stat -c '%n %f %s' {} +; echo '--- links'; "
        + "find / -xdev -type l -exec sh -c 'for l; do echo \"$l -> $(readlink \"$l\")\"; done' _ {} +; echo '--- mounts'; "
        + "while read -r id parent dev root point rest; do echo \"$point\"; done < /proc/self/mountinfo"

    /// The listing's entries and the run's mount points.
    static func parse(_ output: String) -> (entries: Set<String>, mounts: Set<String>) {
        let sections = output.components(separatedBy: "--- links\n")
        let rest = sections.count == 2 ? sections[1].components(separatedBy: "--- mounts\n") : []
        guard rest.count == 2 else { return ([], []) }
        var entries = Set<String>()
        for line in sections[0].split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 3, let mode = UInt32(fields[1], radix: 16) else { continue }
            entries.insert(mode & S_IFMT == S_IFDIR ? "\(fields[0]) \(fields[1])" : line.description)
        }
        for line in rest[0].split(separator: "\n") { entries.insert(String(line)) }
        return (entries, Set(rest[1].split(separator: "\n").map(String.init)).subtracting(["/"]))
    }

    static func path(of entry: String) -> String {
        String(entry.components(separatedBy: " -> ").first?.split(separator: " ").first ?? "")
    }

    /// What is not the image's own: the binds' mount points and what they cover, and the directories the
    /// namespace made in its layer to hold them (absent from `created`).
    static func imageOnly(_ entries: Set<String>, mounts: Set<String>, created: Set<String>) -> Set<String> {
        let createdPaths = Set(created.map(path))
        return entries.filter { entry in
            let path = path(of: entry)
            if mounts.contains(path) || mounts.contains(where: { path.hasPrefix($0 + "/") }) { return false }
            return createdPaths.contains(path) || !mounts.contains { $0.hasPrefix(path + "/") }
        }
    }

    /// The same listing of a tree on the host (a container `udocker create` made).
    static func listing(of root: String) throws -> Set<String> {
        var entries = Set<String>()
        func scan(_ relative: String) throws {
            for name in Files.list(root + relative) {
                let path = relative + "/" + name
                var st = stat()
                guard lstat(root + path, &st) == 0 else { throw TestSupportError("cannot stat \(root + path)") }
                let mode = String(st.st_mode, radix: 16)
                entries.insert(st.st_mode & S_IFMT == S_IFDIR ? "\(path) \(mode)" : "\(path) \(mode) \(st.st_size)")
                if st.st_mode & S_IFMT == S_IFLNK, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: root + path) {
                    entries.insert("\(path) -> \(target)")
                }
                if st.st_mode & S_IFMT == S_IFDIR { try scan(path) }
            }
        }
        try scan("")
        return entries
    }

    /// KiB used under `directory` (du), as the node's scratch grows.
    static func kilobytes(_ directory: String) throws -> Int {
        let du = try Command.run(["du", "-sk", directory])
        return Int(du.out.split(separator: "\t").first ?? "") ?? -1
    }

    @Test(arguments: ["busybox", "debian12", "debian11"])
    func anImageRunsMountedShowingTheTreeCreateExtracts(_ name: String) throws {
        let image = name == "busybox" ? try Fixtures.busybox() : name == "debian12" ? try MPIFixtures.debian12() : try MPIFixtures.debian11()
        let node = try Self.node(images: [image])
        let created = try node.sandbox.udocker(["create", "--name=tree", image.reference])
        try requireSuccess(created)
        let createdTree = try Self.listing(of: node.sandbox.repositoryPath("containers/" + created.out.trimmingCharacters(in: .whitespacesAndNewlines) + "/ROOT"))
        let (dry, run, before, after) = try FuseDevice.with(mode: 0o666) {
            let dry = try node.launch(["--dry-run", image.reference, "--", "sh", "-c", Self.listing])
            let before = try Self.kilobytes(node.scratch)
            let run = try node.launch([image.reference, "--", "sh", "-c", Self.listing])
            return (dry, run, before, try Self.kilobytes(node.scratch))
        }
        try requireSuccess(dry)
        #expect(dry.out.contains("placement: would mount ") && dry.out.contains("mode: U1\n")
                && dry.out.contains("writes: to a layer in memory"), "\(dry)")
        try requireSuccess(run)
        let (entries, mounts) = Self.parse(run.out)
        let listed = Self.imageOnly(entries, mounts: mounts, created: createdTree)
        let expected = Self.imageOnly(createdTree, mounts: mounts, created: createdTree)
        #expect(listed.count > 10 && !mounts.isEmpty, "\(run)")
        #expect(listed == expected, "only mounted: \(listed.subtracting(expected).sorted().prefix(10)); only created: \(expected.subtracting(listed).sorted().prefix(10))")
        if name == "busybox" { for deleted in BusyboxFixture.deletedPaths { #expect(!listed.contains { $0.hasPrefix(deleted + " ") }) } }
        // The node keeps the stage's metadata only, never the tree.
        #expect(after - before < 1024, "scratch grew by \(after - before) KiB")
        #expect(node.stages.contains { $0.hasSuffix("-mount") }, "\(node.stages)")
    }

    @Test func sixteenRanksAtOnceOnAnImageWithNoSquashfsYetBuildItOnceAndShareOneMount() throws {
        let node = try Self.node(images: [Fixtures.busybox()])
        let script = "cat /etc/fixture-release; while read -r id parent dev root point rest; do [ \"$point\" = / ] && echo \"root $id\"; done < /proc/self/mountinfo; sleep 1"
        let results = try FuseDevice.with(mode: 0o666) {
            try node.launchTogether(16, ["--debug", "fixtures/busybox:latest", "--", "sh", "-c", script]) { LaunchNode.slurmRank($0, of: 16) }
        }
        for result in results { try requireSuccess(result) }
        let builds = results.filter { $0.err.contains("building the SquashFS") }
        #expect(builds.count == 1, "\(builds.count) ranks built the SquashFS: \(results.map(\.err))")
        #expect(Files.list(node.sandbox.repositoryPath("squashfs")).filter { $0.hasSuffix(".sqfs") }.count == 1)
        let roots = Set(results.flatMap { $0.lines.filter { $0.hasPrefix("root ") } })
        #expect(roots.count == 1, "the ranks saw \(roots.count) mounts at /: \(roots)")
        #expect(results.allSatisfy { $0.lines.first == "busybox fixture" })
        #expect(node.stageLog.filter { $0.contains(" staged ") }.count == 1, "\(node.stageLog)")
    }

    @Test func aPublishedSquashfsIsVerifiedOnceAndRefusedInOneLineWhenChanged() throws {
        let node = try Self.node(images: [Fixtures.busybox()])
        let dir = try node.sandbox.makeDirectory("published")
        try requireSuccess(node.sandbox.run([node.launcher, "publish", "--to", dir, "--name", "bb", "fixtures/busybox:latest"]))
        let sqfs = dir + "/" + (try #require(Files.list(dir).first { $0.hasSuffix(".sqfs") }))
        let (first, tampered, fresh, opened) = try FuseDevice.with(mode: 0o666) {
            let first = try node.launch([dir + "/bb.json", "--", "cat", "/etc/fixture-release"])
            // One byte of the file changed in place: the node verified it before, and now refuses it.
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sqfs)))
            bytes[bytes.count / 2] ^= 0xff
            try Data(bytes).write(to: URL(fileURLWithPath: sqfs))
            let tampered = try node.launch([dir + "/bb.json", "--", "true"])
            // A node that never saw it: its digest is not the manifest's.
            let fresh = try node.sandbox.run([node.launcher, "--scratch=" + (try node.sandbox.makeDirectory("other-scratch")), dir + "/bb.json", "--", "true"])
            chmod(sqfs, 0o666)
            let opened = try node.sandbox.run([node.launcher, "--scratch=" + (try node.sandbox.makeDirectory("third-scratch")), dir + "/bb.json", "--", "true"])
            return (first, tampered, fresh, opened)
        }
        try requireSuccess(first)
        #expect(first.out == "busybox fixture\n")
        expectOneLineError(tampered)
        #expect(tampered.err.contains("changed since this node verified it"), "\(tampered)")
        expectOneLineError(fresh)
        #expect(fresh.err.contains("digest") && fresh.err.contains("refused"), "\(fresh)")
        expectOneLineError(opened)
        #expect(opened.err.contains("refusing published file"), "\(opened)")
    }

    @Test func theServerKilledMidRunStopsTheRanksWithOneLineAndTheNextStepWorks() throws {
        let node = try Self.node(images: [Fixtures.busybox()])
        let ready = try node.sandbox.makeDirectory("ready")
        // A rank that would read on forever: only the watcher's stop ends it.
        let script = "touch \(ready)/$SLURM_PROCID; while true; do cat /etc/fixture-release >/dev/null 2>&1; sleep 0.1; done"
        let (ranks, keeper, next) = try FuseDevice.with(mode: 0o666) {
            let ranks = try (0..<2).map { try node.start(["-v", ready + ":" + ready, "fixtures/busybox:latest", "--", "sh", "-c", script],
                                                         env: LaunchNode.slurmRank($0, of: 2)) }
            // The keeper is up, and both ranks have exec'd their command (no launcher left) in its namespace.
            var record: String?
            _ = Poll.until(timeout: .seconds(60)) {
                record = Files.list(node.area + "/locks").first { $0.hasSuffix(".pid") }
                return record != nil
            }
            _ = Poll.until(timeout: .seconds(60)) { Files.list(ready).count == 2 }
            let keeper = try record.flatMap { pid_t(try Files.read(node.area + "/locks/" + $0).split(separator: " ")[0]) }
            usleep(500_000)
            if let keeper { kill(keeper, SIGKILL) }
            let ended = ranks.map { $0.wait() }
            return (ended, keeper, try node.launch(["fixtures/busybox:latest", "--", "cat", "/etc/fixture-release"], env: LaunchNode.slurmRank(0, of: 1, step: "1")))
        }
        _ = try #require(keeper)
        #expect(ranks.allSatisfy { !$0.succeeded && !$0.timedOut }, "\(ranks)")
        let told = ranks.flatMap { $0.errLines.filter { $0.contains("the FUSE server of ") } }
        #expect(told.count == 1 && told[0].contains("killed by signal 9"), "\(ranks)")
        try requireSuccess(next)
        #expect(next.out == "busybox fixture\n")
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(node.area), "a mount of the stage area is left on the host")
    }

    @Test func withDevFuseTheUserCannotOpenTheImageIsExtractedAndTheDryRunSaysWhy() throws {
        let node = try Self.node(images: [Fixtures.busybox()])
        let (dry, run, asked) = try FuseDevice.with(mode: 0o600) {
            (try node.launch(["--dry-run", "fixtures/busybox:latest", "--", "true"]),
             try node.launch(["fixtures/busybox:latest", "--", "cat", "/etc/fixture-release"]),
             try node.launch(["--stage=mount", "fixtures/busybox:latest", "--", "cat", "/etc/fixture-release"]))
        }
        try requireSuccess(dry)
        #expect(dry.out.contains("placement: would stage ") && dry.out.contains("(not mounted: /dev/fuse is not readable and writable by you)"), "\(dry)")
        try requireSuccess(run)
        #expect(run.out == "busybox fixture\n" && run.err.isEmpty, "\(run)")
        #expect(node.stages.contains { $0.hasPrefix("image-") && !$0.hasSuffix("-mount") }, "\(node.stages)")
        // Asked for by name, the fallback is said aloud (once, by rank 0).
        try requireSuccess(asked)
        #expect(asked.errLines.count == 1 && asked.err.contains("cannot mount") && asked.err.contains("extracting it instead"), "\(asked)")
    }

    /// (The Debian image: a read-only root must have the mount points of /dev, /proc and /sys, as Debian's has.)
    @Test func writeNoneGivesAReadOnlyRootWithTmpfsAndCopyRunsFromTheNodesCopy() throws {
        let debian = try MPIFixtures.debian12()
        let node = try Self.node(images: [Fixtures.busybox(), debian])
        let (none, copied, dry) = try FuseDevice.with(mode: 0o666) {
            (try node.launch(["--write=none", debian.reference, "--", "sh", "-c", "touch /etc/x || echo refused; touch /tmp/x /var/tmp/x /run/x && echo tmp"]),
             try node.launch(["--stage=copy", "fixtures/busybox:latest", "--", "cat", "/etc/fixture-release"]),
             try node.launch(["--dry-run", "--write=none", "fixtures/busybox:latest", "--", "true"]))
        }
        try requireSuccess(none)
        #expect(none.out == "refused\ntmp\n" && none.err.contains("Read-only file system"), "\(none)")
        #expect(node.stages.contains { $0.hasSuffix("-mount") }, "\(node.stages)")
        try requireSuccess(copied)
        #expect(copied.out == "busybox fixture\n", "\(copied)")
        let copy = try #require(node.stages.first { $0.hasSuffix("-copy") }, "\(node.stages)")
        #expect(Files.list(node.area + "/stages/" + copy).contains("image.sqfs"))
        #expect(dry.out.contains("writes: none (--write=none)"), "\(dry)")
    }
}
