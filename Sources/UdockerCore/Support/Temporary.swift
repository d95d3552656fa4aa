import Foundation

/// The hidden temporaries commands make inside the repository, named after the process that made them:
///
///     .KIND-OWNER-SUFFIX      OWNER = PID.START.SESSION
///
/// START is when that process started (clock ticks after boot: a pid reused later has another) and SESSION
/// stands for the machine's boot and the pid namespace (a pid means nothing elsewhere). A killed command cannot
/// clean up after itself; a later one reclaims its temporaries once the owner is provably gone — same session,
/// and no process with that pid and start time — and never one whose owner still runs, or runs where this
/// process cannot see (another node sharing the repository, another pid namespace).
public enum Temporary {
    public enum Kind: String, Sendable, CaseIterable {
        /// containers/: a container being built.
        case create
        /// Anything being removed: a container, a tag directory, a reclaimed temporary.
        case rm
        /// layers/: an archive being unpacked for `load`, a tarball being read for `import`, a blob being copied in.
        case load, `import`, blob
        /// repos/…/: a tag directory being built; the tag directory it replaces.
        case tag, old
        /// Anywhere: a file written before it is renamed over its final name (FileSystem.atomicWrite).
        case file
    }

    /// `.KIND-OWNER-suffix`, owned by this process.
    public static func name(_ kind: Kind, _ suffix: String) -> String {
        "." + kind.rawValue + "-" + ProcessIdentity.current.tag + "-" + suffix
    }

    /// A new private directory `parent/.KIND-OWNER-XXXXXX`, owned by this process.
    public static func makeDirectory(in parent: String, _ kind: Kind) throws -> String {
        try FileSystem.makeTemporaryDirectory(in: parent, prefix: name(kind, ""))
    }

    /// The kind and owner of a temporary's name; nil for any other name.
    static func parse(_ name: String) -> (kind: Kind, owner: ProcessIdentity)? {
        guard name.hasPrefix(".") else { return nil }
        let fields = name.dropFirst().split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, let kind = Kind(rawValue: String(fields[0])),
              let owner = ProcessIdentity(tag: fields[1]) else { return nil }
        return (kind, owner)
    }

    /// Removes the temporaries in `directory` whose owners are provably gone; returns the kinds it removed.
    /// Each is first renamed to a temporary of this process, so that two commands reclaiming at once never
    /// remove the same tree, and one killed while removing leaves a temporary the next command reclaims.
    @discardableResult
    public static func reclaim(in directory: String) -> Set<Kind> {
        var reclaimed = Set<Kind>()
        for entry in (try? FileSystem.list(directory)) ?? [] {
            guard let (kind, owner) = parse(entry), owner.isProvablyGone else { continue }
            let claimed = directory + "/" + name(.rm, entry)
            guard rename(directory + "/" + entry, claimed) == 0 else { continue }
            do {
                try FileSystem.removeTree(claimed)
                Log.verbose("reclaimed \(directory)/\(entry), left by a command that was killed")
            } catch {
                Log.warning("cannot reclaim \(directory)/\(entry): \(error)")
            }
            reclaimed.insert(kind)
        }
        return reclaimed
    }
}

/// A process as another process on the same machine can recognise it later, even after it died.
struct ProcessIdentity: Equatable, Sendable {
    let pid: Int32
    /// /proc/PID/stat field 22: when the process started, in clock ticks after boot.
    let start: UInt64
    /// 12 hex digits standing for the boot and the pid namespace the pid belongs to.
    let session: String

    var tag: String { "\(pid).\(start).\(session)" }

    init(pid: Int32, start: UInt64, session: String) {
        self.pid = pid; self.start = start; self.session = session
    }

    init?<S: StringProtocol>(tag: S) {
        let parts = tag.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let pid = Int32(parts[0]), let start = UInt64(parts[1]), !parts[2].isEmpty,
              parts[2].allSatisfy(\.isHexDigit) else { return nil }
        self.init(pid: pid, start: start, session: String(parts[2]))
    }

    /// This process. Where /proc cannot tell who we are (or libcrypto cannot be loaded to name the session), the
    /// session is `0`: nothing made here can be reclaimed.
    static let current: ProcessIdentity = {
        let pid = getpid()
        guard let start = startTime(of: pid), let session = currentSession else { return ProcessIdentity(pid: pid, start: 0, session: "0") }
        return ProcessIdentity(pid: pid, start: start, session: session)
    }()

    private static let currentSession: String? = {
        guard let boot = try? FileSystem.readString("/proc/sys/kernel/random/boot_id"),
              let namespace = FileSystem.readLink("/proc/self/ns/pid") else { return nil }
        let boots = boot.trimmingCharacters(in: .whitespacesAndNewlines)
        return (try? Digest.sha256(Data((boots + " " + namespace).utf8))).map { String($0.dropFirst(7).prefix(12)) }
    }()

    /// True only when the process can be seen not to run: it belongs to this boot and pid namespace, and its
    /// pid is free, or taken by a process that started at another time, or it is dead and not yet reaped.
    var isProvablyGone: Bool {
        let me = Self.current
        guard me.session != "0", session == me.session, self != me else { return false }
        if !FileSystem.exists("/proc/\(pid)") { return true }
        // A process that cannot be read, or exits right now, is not counted as gone.
        guard let running = Self.status(of: pid) else { return false }
        return running.start != start || running.state == "Z" || running.state == "X"
    }

    /// The start time of process `pid`; nil when it cannot be read.
    static func startTime(of pid: Int32) -> UInt64? { status(of: pid)?.start }

    /// From /proc/PID/stat: the state (field 3: R, S, D, Z for a zombie…) and the start time (field 22).
    private static func status(of pid: Int32) -> (state: Character, start: UInt64)? {
        guard let stat = try? FileSystem.readString("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }
}
