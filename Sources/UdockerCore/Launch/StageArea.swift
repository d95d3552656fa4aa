import Foundation

/// The launcher's per-user directory in node-local scratch, `<scratch>/udocker-<uid>/`:
///
///     stages/<key>/   one staged container: ROOT/, container.json, stage.done (written last), .inuse
///     stages/.staging-<key>-*   a stage being built (renamed to <key> when its files are complete)
///     locks/          the stage locks and their owner notes, the shared-namespace files of running steps
///     stage.log       one line per staging and per reuse, appended by every rank
///     broadcast/      copies of published archives the job's broadcast step (sbcast) wrote (`PublishedBroadcast`)
public struct StageArea: Sendable {
    public let scratch: String
    public let base: String

    public var stagesDir: String { base + "/stages" }
    public var locksDir: String { base + "/locks" }
    public var logPath: String { base + "/stage.log" }
    public func stageDir(_ key: String) -> String { stagesDir + "/" + key }

    /// `--scratch DIR`, else the first of $SLURM_TMPDIR, $TMPDIR and /tmp that is a writable directory.
    public static func choose(explicit: String?, environment: [String: String]) throws -> StageArea {
        if let explicit {
            let dir = Paths.absolute(explicit)
            guard FileSystem.isDirectoryFollowingLinks(dir) else { throw UdockerError(.notFound, "--scratch: no such directory: \(dir)") }
            guard access(dir, W_OK | X_OK) == 0 else { throw UdockerError(.permission, "--scratch: directory is not writable: \(dir)") }
            return try StageArea(scratch: dir)
        }
        let candidates = [environment["SLURM_TMPDIR"], environment["TMPDIR"], "/tmp"].compactMap { $0 }.filter { !$0.isEmpty }
        for dir in candidates where FileSystem.isDirectoryFollowingLinks(dir) && access(dir, W_OK | X_OK) == 0 {
            return try StageArea(scratch: Paths.absolute(dir))
        }
        throw UdockerError(.permission, "no writable node-local scratch directory (tried \(candidates.joined(separator: ", "))): use --scratch DIR")
    }

    /// Makes the per-user directories, or checks them (`PrivateDirectory`): other users on the node see nothing,
    /// and a directory of that name that another user made (or a symlink) is refused before anything is written.
    init(scratch: String) throws {
        self.scratch = scratch
        base = Self.base(scratch: scratch)
        let area = try PrivateDirectory(base, remedy: "remove it or use another --scratch")
        _ = try area.subdirectory("stages")
        _ = try area.subdirectory("locks")
    }

    static func base(scratch: String) -> String { scratch + "/udocker-\(getuid())" }

    /// Where the job's broadcast step puts copies of published archives (`PublishedStaging`).
    public var broadcastDir: String { Self.broadcastDir(scratch: scratch) }
    static func broadcastDir(scratch: String) -> String { base(scratch: scratch) + "/broadcast" }

    /// Makes the broadcast directory (private, as the rest of the area), for `udocker-launch broadcast-dir`.
    public func makeBroadcastDir() throws -> String {
        try PrivateDirectory(base).subdirectory("broadcast").path
    }

    /// `udocker-launch clean`: removes the broadcast copies (of every job of this user on this node) last changed
    /// longer than `olderThan` seconds ago, or all; returns their names. A job still staging from one keeps
    /// reading it (it is open); one not yet staged reads the published archive instead.
    public func removeBroadcastCopies(olderThan: Double?) throws -> [String] {
        guard FileSystem.exists(broadcastDir) else { return [] }
        let now = Date().timeIntervalSince1970
        var removed: [String] = []
        for name in try FileSystem.list(broadcastDir).sorted() {
            let path = broadcastDir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if let olderThan, now - Double(st.st_mtim.tv_sec) < olderThan { continue }
            try FileSystem.removeTree(path)
            removed.append(name)
        }
        return removed
    }

    /// One line of the stage log. O_APPEND writes of one short line do not interleave between processes.
    public func log(_ event: String, key: String, rank: RankContext, detail: String = "") {
        let stamp = ISO8601DateFormatter().string(from: Date())
        let line = "\(stamp) \(rank.node) \(event) \(key) rank=\(rank.rank) local=\(rank.localRank) pid=\(getpid())"
            + (detail.isEmpty ? "" : " " + detail) + "\n"
        let fd = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        _ = write(fd, bytes, bytes.count)
    }
}

/// Whether a directory lies on a network or parallel file system (by statfs's file system type), where many
/// ranks reading many small files is slow, or on a node-local one.
public enum FileSystemKind: Equatable, Sendable {
    case shared(String)
    case local(String)

    /// statfs f_type magic numbers (linux/magic.h and the file systems' own sources).
    static let sharedTypes: [Int: String] = [
        0x6969: "NFS", 0x0BD0_0BD0: "Lustre", 0x4750_4653: "GPFS", 0x1983_0326: "BeeGFS", 0x00C3_6400: "CephFS",
        0xFF53_4D42: "CIFS", 0xFE53_4D42: "SMB2", 0x517B: "SMB", 0xAAD7_AAEA: "PanFS", 0x2003_0528: "OrangeFS",
        0x5346_414F: "AFS", 0x6573_5546: "FUSE", 0x0102_1997: "9p",
    ]
    static let localTypes: [Int: String] = [
        0xEF53: "ext4", 0x5846_5342: "XFS", 0x9123_683E: "Btrfs", 0x0102_1994: "tmpfs", 0x794C_7630: "overlay",
        0x2FC1_2FC1: "ZFS", 0x8584_58F6: "ramfs", 0xF2F5_2010: "F2FS",
    ]

    public static func of(_ path: String) -> FileSystemKind {
        guard let type = LinuxCalls.fileSystemType(path) else { return .shared("unknown (statfs failed)") }
        return classify(type)
    }

    /// Unknown types count as shared: staging them costs one copy, running from a slow one costs every start.
    public static func classify(_ type: Int) -> FileSystemKind {
        if let name = sharedTypes[type] { return .shared(name) }
        if let name = localTypes[type] { return .local(name) }
        return .shared(String(format: "type 0x%x", type))
    }

    public var isShared: Bool { if case .shared = self { return true } else { return false } }
    public var name: String { switch self { case .shared(let n), .local(let n): return n } }
}
