import Foundation

/// `udocker-launch clean`: removes this user's stages from a node's scratch, never one in use (a rank holds its
/// `.inuse` lock shared until its command exits) nor one being staged (its stage lock is held), and the leftovers
/// of ranks that were killed while staging.
public struct StageCleaner: Sendable {
    public var area: StageArea

    public init(area: StageArea) { self.area = area }

    public struct Outcome: Sendable, Equatable {
        public var removed: [String] = []
        public var inUse: [String] = []
        public var kept: [String] = []
    }

    /// - `olderThan`: seconds since the stage was finished (or last touched, for leftovers); nil removes all.
    public func clean(olderThan: Double?) throws -> Outcome {
        var outcome = Outcome()
        let now = Date().timeIntervalSince1970
        for name in try FileSystem.list(area.stagesDir).sorted() {
            let directory = area.stagesDir + "/" + name
            let isLeftover = name.hasPrefix(".")
            let stamp = isLeftover ? directory : directory + "/" + NodeStage.doneName
            if let olderThan, now - modificationTime(stamp) < olderThan {
                outcome.kept.append(name)
                continue
            }
            let key = isLeftover ? Self.key(ofLeftover: name) : name
            guard let stageLock = try FileLock.attempt(area.locksDir + "/stage-" + key + ".lock") else {
                outcome.inUse.append(name)
                continue
            }
            defer { withExtendedLifetime(stageLock) {} }
            // Renamed away while the exclusive lock is held: no rank can take a hold between the check and the rename.
            let unused = isLeftover ? nil : try Self.lockUnused(directory + "/.inuse")
            if !isLeftover && unused == nil {
                outcome.inUse.append(name)
                continue
            }
            let doomed = area.stagesDir + "/.rm-" + name + "-\(getpid())"
            guard rename(directory, doomed) == 0 else {
                if let unused { close(unused) }
                throw UdockerError.posix("cannot remove stage", directory)
            }
            if let unused { close(unused) }
            try FileSystem.removeTree(doomed)
            outcome.removed.append(name)
        }
        return outcome
    }

    /// The stage's `.inuse` locked exclusively (its descriptor), or nil when a rank holds it. A stage with no
    /// `.inuse` has never been run from.
    static func lockUnused(_ inUse: String) throws -> Int32? {
        let fd = open(inUse, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UdockerError.posix("cannot open", inUse) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let busy = errno == EWOULDBLOCK
            let error = UdockerError.posix("cannot lock", inUse)
            close(fd)
            if busy { return nil }
            throw error
        }
        // A reaper may have renamed the stage away just before: then it is not ours to remove.
        guard StageHold.isCurrent(fd, inUse) else { close(fd); return nil }
        return fd
    }

    /// `.staging-<key>-XXXXXX` or `.rm-<key>-<pid>`: the key whose lock guards it.
    static func key(ofLeftover name: String) -> String {
        let trimmed = name.hasPrefix(".staging-") ? name.dropFirst(9) : name.hasPrefix(".rm-") ? name.dropFirst(4) : Substring(name)
        return String(trimmed[..<(trimmed.lastIndex(of: "-") ?? trimmed.endIndex)])
    }

    private func modificationTime(_ path: String) -> Double {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        return Double(st.st_mtim.tv_sec)
    }

    /// `30`, `90s`, `15m`, `12h`, `7d`.
    public static func parseAge(_ text: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let unit = text.last.flatMap { units[$0] }
        let number = unit == nil ? Substring(text) : text.dropLast()
        guard let value = Double(number), value >= 0 else {
            throw UdockerError(.invalidInput, "invalid --older-than: \(text) (a number of seconds, or with s, m, h or d)")
        }
        return value * (unit ?? 1)
    }
}
