import Foundation
import Testing
import TestSupport
@testable import UdockerCore

/// One U1 namespace key's files and the image it mounts, all reachable by the unprivileged test user.
struct MountScratch {
    let user: TestUser
    let dir: String, probe: String, image: String, created: String
    var root: String { dir + "/root" }
    var mountPoint: String { dir + "/image" }
    var sharing: String { dir + "/ns" }
    var layer: String { dir + "/layer" }

    /// The busybox fixture's three layers, extracted as `create` does and built into a SquashFS.
    init() throws {
        user = try TestUser.unprivileged()
        let staging = try Staging.shared()
        dir = try staging.makeDirectory("squash-mount", owner: user)
        probe = dir + "/squash-mount-probe"
        try Files.copy(staging.packageRoot + "/.build/debug/squash-mount-probe", to: probe, mode: 0o755)
        let fixture = try Fixtures.busybox()
        let layers = fixture.layerDigests.map { fixture.ociLayout + "/blobs/" + $0.replacingOccurrences(of: ":", with: "/") }
        image = dir + "/busybox.sqfs"
        created = dir + "/created"
        try SquashImageBuilder.build(layers: layers, to: image)
        chmod(image, 0o644)
        try FileSystem.makeDirectories(created)
        try LayerExtractor.extract(layers: layers, into: created)
        for path in [root, mountPoint, sharing] { try Files.makeDirectory(path, mode: 0o700, owner: user) }
    }

    /// The probe, as the test user, running `script` with the image's /bin/sh in the namespace of `key`, by
    /// default with a writable layer and the host's /proc.
    func start(_ key: String, _ script: String, options: [String]? = nil) throws -> RunningCommand {
        let options = options ?? ["--layer", layer, "--bind", "/proc:/proc"]
        return try Command.start([probe, image, mountPoint, root, sharing, key] + options + ["--", "/bin/sh", "-c", script],
                                 as: user, timeout: .seconds(120))
    }

    /// What `udocker-launch info --json` says of mounting, as the test user.
    func launcherInfo() throws -> String? {
        let result = try Command.run([try Staging.shared().udockerLaunch, "info", "--json"], env: ["UDOCKER_DIR": dir + "/udocker"], as: user)
        guard result.succeeded else { throw TestSupportError("udocker-launch info failed:\n\(result)") }
        return (try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])?["squashfsMount"] as? String
    }

    func keeperPid(_ key: String) -> pid_t? {
        (try? String(contentsOfFile: "\(sharing)/ns-\(key).pid", encoding: .utf8)).flatMap { pid_t($0.split(separator: " ")[0]) }
    }
}

/// What busybox's `find / -mindepth 1 -xdev -exec stat -c '%n|%f|%s|%N' {} +` prints, one line per path:
/// path, raw mode in hex, size (left out for directories, whose sizes differ between file systems), symlink target.
enum StatListing {
    static let command = "find / -mindepth 1 -xdev -exec stat -c '%n|%f|%s|%N' {} +"
    /// "mount ID TYPE" for each mount at / (fields 1 and 5 of mountinfo, the type after the " - ").
    static let rootMounts = "while read -r id parent dev root point rest; do [ \"$point\" = / ] && echo \"mount $id ${rest#* - }\"; done < /proc/self/mountinfo | cut -d' ' -f1-3"

    static func parse(_ lines: [String]) -> [String] {
        lines.compactMap { line in
            let fields = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, let mode = UInt32(fields[1], radix: 16) else { return nil }
            let target = fields[3].range(of: "' -> '").map { String(fields[3][$0.upperBound...].dropLast()) }
            return entry(fields[0], mode: mode, size: fields[2], target: target)
        }.sorted()
    }

    static func of(_ root: String) throws -> [String] {
        var lines: [String] = []
        func scan(_ relative: String) throws {
            for name in try FileSystem.list(root + relative) {
                let path = relative + "/" + name
                var st = stat()
                guard lstat(root + path, &st) == 0 else { throw UdockerError.posix("cannot stat", root + path) }
                let link = st.st_mode & S_IFMT == S_IFLNK ? FileSystem.readLink(root + path) : nil
                lines.append(entry(path, mode: st.st_mode, size: String(st.st_size), target: link))
                if st.st_mode & S_IFMT == S_IFDIR { try scan(path) }
            }
        }
        try scan("")
        return lines.sorted()
    }

    private static func entry(_ path: String, mode: UInt32, size: String, target: String?) -> String {
        let shownSize = mode & S_IFMT == S_IFDIR ? "" : " " + size
        return "\(path) \(String(mode, radix: 8))\(shownSize)" + (target.map { " -> " + $0 } ?? "")
    }
}

/// A SquashFS image mounted with FUSE in a U1 namespace, served by the namespace's keeper through
/// libsquashfuse_ll (issue 17 item 3, not yet the launcher's path): run as the unprivileged test user. Needs
/// libsquashfuse0 and libfuse3-3 (`make deps`) and root to set /dev/fuse's mode for the run.
@Suite(.serialized, .enabled(if: TestUser.isRunningAsRoot)) struct SquashMountTests {
    @Test func twoCommandsOfOneNamespaceSeeTheImagesTreeAndTheServerEndsWithTheLast() throws {
        let scratch = try MountScratch()
        let expectedBusybox = try Digest.sha256(file: scratch.created + "/bin/busybox")
        let (first, keeper, keeperMounts, second) = try FuseDevice.with(mode: 0o666) {
            let available = try Command.run([scratch.probe, "check"], as: scratch.user)
            #expect(available.out == "available\n", "\(available)")
            #expect(try scratch.launcherInfo()?.hasPrefix("possible") == true)
            // The first command lists the tree and reads files, then waits for the second, which joins the same
            // namespace (one mount, one server) and writes into the image's /tmp: the shared writable layer over it.
            let first = try scratch.start("step", StatListing.command + "; touch /tmp/listed; echo '--- content'; cat /data/keep.txt; "
                                          + "sha256sum /bin/busybox; stat -c %u:%g /etc/passwd; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo released; "
                                          + StatListing.rootMounts)
            var keeper: pid_t?
            for _ in 0..<600 where keeper == nil {
                keeper = scratch.keeperPid("step")
                if keeper == nil { usleep(100_000) }
            }
            // The server's own view: the image's FUSE mount at its mount point (under the overlay the commands see).
            let keeperMounts = keeper.flatMap { try? String(contentsOfFile: "/proc/\($0)/mountinfo", encoding: .utf8) } ?? ""
            // Once the first has listed the tree (which /tmp/go would otherwise join).
            let second = try scratch.start("step", "while [ ! -e /tmp/listed ]; do sleep 0.1; done; touch /tmp/go && echo joined; "
                                           + StatListing.rootMounts).wait()
            return (first.wait(), keeper, keeperMounts, second)
        }
        #expect(first.succeeded && second.succeeded, "\(first)\n\(second)")
        // One mount per namespace: both commands see the same mount at / (its id), the writable layer's overlay
        // over the image's FUSE mount, which the keeper serves.
        #expect(second.lines.first == "joined")
        let mounts = second.lines.dropFirst().filter { $0.hasPrefix("mount ") }
        #expect(mounts.count == 1 && mounts[0].hasSuffix(" overlay"), "\(second)")
        #expect(first.lines.filter { $0.hasPrefix("mount ") } == mounts, "\(first)\n\(second)")
        #expect(keeperMounts.split(separator: "\n").contains { $0.contains(" \(scratch.mountPoint) ") && $0.contains(" - fuse.squashfuse ") },
                "\(keeperMounts)")
        let parts = first.lines.split(separator: "--- content", maxSplits: 1)
        // The image's tree, less the mount point of the /proc bind (made in the writable layer).
        let listing = StatListing.parse(Array(parts.first ?? [])).filter { !$0.hasPrefix("/proc ") }
        let expected = try StatListing.of(scratch.created)
        #expect(listing.count > 100)
        #expect(listing == expected, "first difference: \(zip(listing, expected).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "count \(listing.count) vs \(expected.count)")")
        for deleted in BusyboxFixture.deletedPaths { #expect(!listing.contains { $0.hasPrefix(deleted + " ") }) }
        let content = Array(parts.dropFirst().first ?? [])
        #expect(content.first == "kept", "\(first)")
        #expect(content.dropFirst().first.map { "sha256:" + $0.prefix(64) } == expectedBusybox, "\(first)")
        // Owned by the user, as create's tree is: so the writable layer can copy /tmp up for the second command.
        #expect(content.dropFirst(2).first == "\(scratch.user.uid):\(scratch.user.gid)", "\(first)")
        #expect(content.contains("released"))
        // The keeper served both commands and went with the last one: its pid and the namespace are gone.
        let pid = try #require(keeper)
        var gone = false
        for _ in 0..<100 where !gone {
            gone = kill(pid, 0) != 0 && !FileManager.default.fileExists(atPath: "/proc/\(pid)")
            if !gone { usleep(100_000) }
        }
        #expect(gone, "the FUSE server (keeper \(pid)) is still running after its last user exited")
        #expect(scratch.keeperPid("step") == nil)
        let hostMounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!hostMounts.contains(scratch.root), "the image is still mounted on the host at \(scratch.root)")
    }

    /// `--write=none`, and kernels without overlayfs in user namespaces: the image read-only, /tmp a tmpfs.
    @Test func withoutAWritableLayerTheMountedImageIsReadOnlyWithATmpOfItsOwn() throws {
        let scratch = try MountScratch()
        let run = try FuseDevice.with(mode: 0o666) {
            try scratch.start("plain", "cat /data/keep.txt; touch /etc/x || echo refused; touch /tmp/x && echo tmp writable", options: []).wait()
        }
        #expect(run.succeeded && run.out == "kept\nrefused\ntmp writable\n", "\(run)")
        #expect(run.err.contains("Read-only file system"), "\(run)")
    }

    @Test func aDevFuseTheUserCannotOpenIsRefusedInOneLine() throws {
        let scratch = try MountScratch()
        let (check, run, info) = try FuseDevice.with(mode: 0o600) {
            (try Command.run([scratch.probe, "check"], as: scratch.user), try scratch.start("refused", "echo ran").wait(),
             try scratch.launcherInfo())
        }
        #expect(check.out == "/dev/fuse is not readable and writable by you\n", "\(check)")
        #expect(info == "/dev/fuse is not readable and writable by you")
        #expect(run.status != 0 && run.out.isEmpty, "\(run)")
        #expect(run.errLines.count == 1 && run.err.contains("/dev/fuse is not readable and writable by you"), "\(run)")
        #expect(scratch.keeperPid("refused") == nil)
    }

    @Test func aTruncatedImageIsRefusedInOneLineAndNoServerIsLeft() throws {
        let scratch = try MountScratch()
        // The first 4 KiB: a super block whose tables lie past the end of the file.
        let whole = try Data(contentsOf: URL(fileURLWithPath: scratch.image))
        try whole.prefix(4096).write(to: URL(fileURLWithPath: scratch.image))
        let run = try FuseDevice.with(mode: 0o666) { try scratch.start("truncated", "echo ran").wait() }
        #expect(run.status != 0 && run.out.isEmpty, "\(run)")
        #expect(run.errLines.count == 1 && run.err.contains("is not a SquashFS image squashfuse can read"), "\(run)")
        #expect(scratch.keeperPid("truncated") == nil)
    }

    /// Issue 17 item 6: a killed server's commands are stopped at once with one line saying why, nothing is left
    /// behind, and the next command of that key gets a new keeper.
    @Test func aKilledServerEndsItsCommandsAndTheNextOneMountsAgain() throws {
        let scratch = try MountScratch()
        let (reader, pid, next) = try FuseDevice.with(mode: 0o666) {
            // A reader that would read on forever: only the watcher's stop ends it.
            let reader = try scratch.start("killed", "while true; do cat /data/keep.txt >/dev/null 2>&1; sleep 0.1; done")
            var pid: pid_t?
            for _ in 0..<600 where pid == nil {
                pid = scratch.keeperPid("killed")
                if pid == nil { usleep(100_000) }
            }
            if let pid {
                usleep(1_000_000)   // the reader has joined and reads through the mount
                kill(pid, SIGKILL)
            }
            let ended = reader.wait()
            return (ended, pid, try scratch.start("killed", "cat /data/keep.txt").wait())
        }
        _ = try #require(pid)
        #expect(!reader.timedOut && !reader.succeeded, "\(reader)")
        let told = reader.errLines.filter { $0.contains("the FUSE server of \(scratch.image)") }
        #expect(told.count == 1 && told[0].contains("killed by signal 9"), "\(reader)")
        #expect(next.succeeded && next.out == "kept\n", "\(next)")
        #expect(scratch.keeperPid("killed") == nil)
    }
}
