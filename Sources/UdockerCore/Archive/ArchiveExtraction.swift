import Foundation

/// Applies the members of one archive onto a `ConfinedRoot`.
///
/// - An existing path of another type is removed first (a file over a directory removes the directory tree);
///   a directory over a directory merges, as Docker and umoci do.
/// - Files and directories stay owner-readable and -writable (directories also owner-searchable) so that the
///   tree can always be removed; setuid and setgid bits are dropped, as an unprivileged extraction drops them.
///   Owners are not changed.
/// - With `appliesWhiteouts` (image layers), `.wh.NAME` removes NAME and `.wh..wh..opq` empties its directory —
///   of what lower layers left only: the paths this layer writes survive, whatever the member order.
///   Whiteout files themselves are never created.
final class ArchiveExtraction {
    private let root: ConfinedRoot
    private let appliesWhiteouts: Bool
    /// A probe's: regular files it passes over are made sparse, their bytes not written.
    private let probe: ProbeSelection?
    /// Keys of the paths this archive has written, with their parent directories.
    private var written = Set<[UInt8]>()
    /// Directory times are set last: writing into a directory changes its time.
    private var directoryTimes: [(MemberPath, timespec)] = []

    init(root: ConfinedRoot, appliesWhiteouts: Bool, probe: ProbeSelection? = nil) {
        self.root = root
        self.appliesWhiteouts = appliesWhiteouts
        self.probe = probe
    }

    func apply(_ reader: ArchiveReader) throws {
        while let member = try reader.next() {
            do {
                try apply(member, from: reader)
            } catch let error as UdockerError {
                throw UdockerError(error.code, "member \(member.displayName): \(error.description)")
            }
        }
        finish()
    }

    /// Sets the directory times, once every member is applied.
    func finish() { restoreDirectoryTimes() }

    private func apply(_ member: ArchiveMember, from reader: ArchiveReader) throws {
        try apply(member, at: MemberPath(member: member.name), from: reader)
    }

    /// Applies one member at `path` (relative to this root): for a caller that routes one archive's members to
    /// more than one root. (A hardlink's target is a path relative to this root too.)
    func apply(_ member: ArchiveMember, at path: MemberPath, from reader: ArchiveReader) throws {
        // `./` names the root itself, which keeps its own mode.
        if path.isRoot { return }
        if appliesWhiteouts, let whiteout = try LayerWhiteout(path) {
            try applyWhiteout(whiteout, at: path)
            return
        }
        if case .special(let what) = member.kind {
            Log.debug("skipping \(what) \(path.display)")
            return
        }
        guard let parent = try root.directory(path.parent, create: true) else {
            throw UdockerError(.internalError, "cannot create the parent directory")
        }
        let name = path.name
        switch member.kind {
        case .directory:
            try makeDirectory(name, in: parent, permissions: member.permissions)
            if let time = member.modificationTime { directoryTimes.append((path, time)) }
        case .file:
            let fd = try createReplacing(name, in: parent) {
                openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            defer { close(fd) }
            if probe?.keepsData(path, member) == false {
                // Left unread: libarchive skips the data at the next header.
                guard ftruncate(fd, off_t(member.size ?? 0)) == 0 else { throw UdockerError.posix("cannot size", "probe file") }
            } else {
                try reader.writeData(to: fd, size: member.size)
            }
            fchmod(fd, Self.fileMode(member.permissions))
            if let time = member.modificationTime { _ = futimens(fd, [time, time]) }
        case .symlink(let target):
            _ = try createReplacing(name, in: parent) { symlinkat(target, parent, name) }
            if let time = member.modificationTime { _ = utimensat(parent, name, [time, time], AT_SYMLINK_NOFOLLOW) }
        case .hardlink(let target):
            try makeHardlink(path, in: parent, to: MemberPath(member: target))
        case .special:
            return  // skipped above, before its parent could be made
        }
        if appliesWhiteouts { remember(path) }
    }

    // MARK: members

    private func makeDirectory(_ name: [CChar], in parent: Int32, permissions: mode_t) throws {
        if mkdirat(parent, name, 0o700) != 0 {
            guard errno == EEXIST else { throw UdockerError.posix("cannot create directory", DescriptorCalls.display(name)) }
            if let existing = try DescriptorCalls.status(name, in: parent), !DescriptorCalls.isDirectory(existing) {
                try root.remove(name, in: parent)
                guard mkdirat(parent, name, 0o700) == 0 else {
                    throw UdockerError.posix("cannot create directory", DescriptorCalls.display(name))
                }
            }
        }
        // The name was just made or checked to be a directory: chmod cannot be redirected.
        guard fchmodat(parent, name, Self.directoryMode(permissions), 0) == 0 else {
            throw UdockerError.posix("cannot set the mode of", DescriptorCalls.display(name))
        }
    }

    /// A hardlink's target is a member path too: resolved inside the root, never outside, never a directory.
    private func makeHardlink(_ path: MemberPath, in parent: Int32, to target: MemberPath) throws {
        guard !target.isRoot else { throw UdockerError(.invalidInput, "hardlink to the root directory") }
        if target.key == path.key { return }
        let notFound = UdockerError(.notFound, "hardlink target \(target.display) not found")
        guard let targetParent = try root.openDirectory(target.parent) else { throw notFound }
        defer { close(targetParent) }
        guard let targetStatus = try DescriptorCalls.status(target.name, in: targetParent) else { throw notFound }
        guard !DescriptorCalls.isDirectory(targetStatus) else {
            throw UdockerError(.invalidInput, "hardlink target \(target.display) is a directory")
        }
        _ = try createReplacing(path.name, in: parent) { linkat(targetParent, target.name, parent, path.name, 0) }
    }

    /// Runs `make` (an *at() call that fails with EEXIST rather than follow or overwrite); when the name exists,
    /// removes what is there and tries once more.
    private func createReplacing(_ name: [CChar], in parent: Int32, _ make: () -> Int32) throws -> Int32 {
        var result = make()
        if result < 0 && errno == EEXIST {
            try root.remove(name, in: parent)
            result = make()
        }
        guard result >= 0 else { throw UdockerError.posix("cannot create", DescriptorCalls.display(name)) }
        return result
    }

    static func fileMode(_ permissions: mode_t) -> mode_t { (permissions & 0o1777) | 0o600 }
    static func directoryMode(_ permissions: mode_t) -> mode_t { (permissions & 0o1777) | 0o700 }

    // MARK: whiteouts

    private func applyWhiteout(_ whiteout: LayerWhiteout, at path: MemberPath) throws {
        switch whiteout {
        case .opaque:
            try removeLowerContent(of: path.parent)
        case .hides(let hidden):
            let hiddenPath = path.parent.appending(hidden)
            if written.contains(hiddenPath.key) { return }
            guard let directory = try root.directory(path.parent, create: false) else { return }
            try root.remove(hidden, in: directory)
        case .nothing:
            return
        }
    }

    /// Empties a directory of everything this layer did not write, recursing into the directories it did.
    private func removeLowerContent(of directoryPath: MemberPath) throws {
        guard let directory = try root.directory(directoryPath, create: false) else { return }
        let fd = try DescriptorCalls.reopen(directory, flags: O_RDONLY)
        defer { close(fd) }
        try removeLowerContent(fd, key: directoryPath.key)
    }

    private func removeLowerContent(_ directory: Int32, key: [UInt8]) throws {
        for child in try DescriptorCalls.list(directory) {
            var childKey = key
            if !childKey.isEmpty { childKey.append(UInt8(ascii: "/")) }
            childKey.append(contentsOf: child.dropLast().map { UInt8(bitPattern: $0) })
            guard written.contains(childKey) else {
                try root.remove(child, in: directory)
                continue
            }
            guard let st = try DescriptorCalls.status(child, in: directory), DescriptorCalls.isDirectory(st) else { continue }
            let fd = openat(directory, child, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw UdockerError.posix("cannot open directory", DescriptorCalls.display(child)) }
            defer { close(fd) }
            try removeLowerContent(fd, key: childKey)
        }
    }

    private func remember(_ path: MemberPath) {
        var key = path.key
        while written.insert(key).inserted {
            guard let slash = key.lastIndex(of: UInt8(ascii: "/")) else { return }
            key.removeSubrange(slash...)
        }
    }

    private func restoreDirectoryTimes() {
        for (path, time) in directoryTimes {
            guard let parent = try? root.directory(path.parent, create: false) else { continue }
            _ = utimensat(parent, path.name, [time, time], AT_SYMLINK_NOFOLLOW)
        }
    }
}
