import Foundation

/// Where the ranks of one step on one node meet to share a U1 namespace: files `ns-<key>.*` in `directory`
/// (node-local). Ranks with the same key have the same root, binds and ids, so one namespace serves them all.
public struct NamespaceSharing: Sendable, Equatable {
    public var directory: String
    public var key: String

    public init(directory: String, key: String) { self.directory = directory; self.key = key }
}

/// U1 with one user + mount namespace per node and step instead of one per rank, as Charliecloud's --join and
/// pyxis do: one namespace set-up per node, one mount view, and ranks that can use each other's memory through
/// cross-memory attach (which the kernel refuses between sibling user namespaces).
///
/// The first rank to arrive starts a keeper: a detached process that creates the namespace, mounts the binds and
/// then only holds it. Every rank (the first included) joins it with setns(), changes root and execs. The ranks
/// hold `ns-<key>.users` shared, across exec, until their command exits; the keeper waits for the exclusive lock
/// on it, so it ends — and the namespace with it — when the last rank of the node has exited.
enum SharedNamespace {
    static func join(_ isolation: Isolation, _ sharing: NamespaceSharing) throws {
        try UserNamespace.requireSingleThreaded("join a user namespace")
        let base = sharing.directory + "/ns-" + sharing.key
        do {
            // Held while looking for (or starting) the keeper, so two first ranks do not start two, and for a
            // mounted image while the first rank in mounts the binds.
            let creation = try FileLock(path: base + ".lock")
            defer { withExtendedLifetime(creation) {} }
            try enter(try keeperInUse(isolation, base: base))
            if isolation.image != nil { try bindOnce(isolation, base: base) }
        }
        try UserNamespace.enterRoot(isolation)
    }

    /// For a mounted image, before the rank plans: the keeper of `sharing`, started when there is none, and this
    /// process counted among its users (held across exec). The rank plans by reading the image at
    /// `/proc/PID/root` + the image's mount point, where the keeper serves it; it joins at exec.
    static func attach(_ isolation: Isolation, _ sharing: NamespaceSharing) throws -> pid_t {
        let base = sharing.directory + "/ns-" + sharing.key
        let creation = try FileLock(path: base + ".lock")
        defer { withExtendedLifetime(creation) {} }
        return try keeperInUse(isolation, base: base)
    }

    /// The `.users` files this process holds shared (a rank attaches, then joins at exec: one hold is enough).
    private nonisolated(unsafe) static var held: Set<String> = []

    /// Under the creation lock: takes `.users` shared (no O_CLOEXEC: the command keeps it), then the running
    /// keeper, or a new one.
    private static func keeperInUse(_ isolation: Isolation, base: String) throws -> pid_t {
        // Shared before reading the pid file: a keeper that already got its exclusive lock is on its way out.
        if !held.contains(base) {
            let users = open(base + ".users", O_RDWR | O_CREAT, 0o600)
            guard users >= 0 else { throw UdockerError.posix("U1: cannot open", base + ".users") }
            while flock(users, LOCK_SH) != 0 {
                guard errno == EINTR else { throw UdockerError.posix("U1: cannot lock", base + ".users") }
            }
            held.insert(base)
        }
        if let running = KeeperRecord.read(base + ".pid") { return running }
        // A keeper that died took its mounts with it: the record of the binds made in them goes too.
        unlink(base + ".binds")
        let keeper = try startKeeper(isolation, base: base)
        try KeeperRecord.write(keeper, to: base + ".pid")
        return keeper
    }

    /// A mounted image's namespace is made before any rank has planned, so the first rank to join mounts the
    /// binds in it (with the creation lock held) and records them; the others find them made. Ranks with other
    /// volumes have another key (`Launcher.mountSharingKey`): a record that differs is a bug, never mixed up.
    private static func bindOnce(_ isolation: Isolation, base: String) throws {
        var record = "readOnlyRoot \(isolation.readOnlyRoot)\n"
        for bind in isolation.binds { record += "bind \(bind.source)\t\(bind.target)\t\(bind.readOnly)\n" }
        for link in isolation.links { record += "link \(link.hostPath)\t\(link.containerPath)\n" }
        if let made = try? FileSystem.readString(base + ".binds") {
            guard made == record else {
                throw UdockerError(.internalError, "U1: another rank of this step on this node mounted other binds into the "
                                   + "mounted image's namespace (\(base).binds)")
            }
            return
        }
        try UserNamespace.mountBinds(isolation, sealRoot: isolation.readOnlyRoot || !UserNamespace.hasWritableLayer(isolation.root))
        try FileSystem.atomicWrite(record, to: base + ".binds", mode: 0o600)
    }

    private static func enter(_ keeper: pid_t) throws {
        for (name, type) in [("user", LinuxCalls.cloneNewUser), ("mnt", LinuxCalls.cloneNewNamespace)] {
            let path = "/proc/\(keeper)/ns/\(name)"
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw UdockerError.posix("U1: cannot open the shared namespace", path) }
            defer { close(fd) }
            guard LinuxCalls.setNamespace(fd, type) == 0 else { throw UdockerError.posix("U1: cannot join the shared namespace", path) }
        }
    }

    /// The keeper is a detached process (see DetachedProcess); it reports on a pipe whether the namespace is
    /// ready, with the error when it is not.
    private static func startKeeper(_ isolation: Isolation, base: String) throws -> pid_t {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw UdockerError.posix("U1: cannot create a pipe", "") }
        let report = pipeFDs[1]
        // A mounted image's watcher tells the ranks on the standard error of the rank that started it (ServerLoss).
        let errorOutput = isolation.image != nil ? fcntl(2, F_DUPFD_CLOEXEC, 3) : -1
        try DetachedProcess.start(keeping: [report, errorOutput]) { keep(isolation, base: base, report: report, errorOutput: errorOutput) }
        if errorOutput >= 0 { close(errorOutput) }
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        var bytes = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = read(pipeFDs[0], &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        let answer = String(decoding: bytes, as: UTF8.self)
        guard answer.hasPrefix("ready "), let pid = pid_t(answer.dropFirst(6).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw UdockerError(.engine, answer.isEmpty ? "U1: the namespace keeper died before it was ready" : answer)
        }
        return pid
    }

    /// The keeper's whole life; never returns. A mounted image's keeper is the FUSE server of the ranks' root,
    /// so it is watched by its parent, which stops the ranks if it dies under them (`ServerLoss`).
    private static func keep(_ isolation: Isolation, base: String, report: Int32, errorOutput: Int32) -> Never {
        guard let image = isolation.image else { serve(isolation, base: base, report: report, watcher: nil) }
        var ends: [Int32] = [0, 0]
        let server = pipe(&ends) == 0 ? fork() : -1
        if server == 0 {
            close(ends[0])
            close(errorOutput)
            serve(isolation, base: base, report: report, watcher: ends[1])
        }
        guard server > 0 else {
            let text = Array("U1: cannot start the FUSE server of \(image.file): \(String(cString: strerror(errno)))".utf8)
            _ = write(report, text, text.count)
            _exit(1)
        }
        close(report)
        close(ends[1])
        ServerLoss.watch(server, namespaceFrom: ends[0], image: image.file, base: base, errorOutput: errorOutput)
    }

    private static func serve(_ isolation: Isolation, base: String, report: Int32, watcher: Int32?) -> Never {
        func say(_ text: String, to fd: Int32) { let bytes = Array(text.utf8); _ = write(fd, bytes, bytes.count) }
        let users = open(base + ".users", O_RDWR | O_CLOEXEC)
        guard users >= 0 else { say("U1: the keeper cannot open \(base).users", to: report); _exit(1) }
        do {
            try UserNamespace.create(isolation)
        } catch {
            say("\(error)", to: report)
            _exit(1)
        }
        if let watcher {
            say(FileSystem.readLink("/proc/self/ns/user") ?? "", to: watcher)
            close(watcher)
        }
        say("ready \(getpid())", to: report)
        close(report)
        while flock(users, LOCK_EX) != 0 && errno == EINTR {}
        // Still holding the lock: no rank can be reading the record now, and none joins a keeper on its way out.
        unlink(base + ".pid")
        unlink(base + ".binds")
        _exit(0)
    }
}

/// The keeper's pid with its start time (field 22 of /proc/PID/stat), so a recycled pid is never taken for it.
enum KeeperRecord {
    static func write(_ pid: pid_t, to path: String) throws {
        guard let start = startTime(pid) else { throw UdockerError(.engine, "U1: the namespace keeper \(pid) is gone") }
        try FileSystem.atomicWrite("\(pid) \(start)\n", to: path, mode: 0o600)
    }

    /// The keeper named in `path` when it still runs.
    static func read(_ path: String) -> pid_t? {
        guard let fields = try? FileSystem.readString(path).split(separator: " "), fields.count == 2,
              let pid = pid_t(fields[0]), let start = UInt64(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)),
              startTime(pid) == start else { return nil }
        return pid
    }

    /// nil once the process is gone, or dead and not yet reaped (a killed keeper stays a zombie until its
    /// parent, init or a subreaper, collects it: its namespaces are already gone).
    static func startTime(_ pid: pid_t) -> UInt64? {
        guard let stat = try? FileSystem.readString("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)" come the fields from the third on: the state first, the start time 22nd.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, !["Z", "X"].contains(fields[0]) else { return nil }
        return UInt64(fields[19])
    }
}
