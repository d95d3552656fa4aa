import Foundation

/// One inode of the tree a SquashFS image is built from. Directories are unique; a file or symlink may be the
/// target of several names (hard links share the node).
final class SquashNode {
    enum Kind {
        case directory
        /// A regular file of `size` bytes whose data is member `member` of layer `layer` (both counted from 0).
        case file(size: Int64, layer: Int, member: Int)
        case symlink(target: [CChar])
    }

    let kind: Kind
    /// Permission bits as `create` leaves them on disk (see ArchiveExtraction.fileMode and directoryMode).
    var permissions: mode_t
    /// Seconds since the epoch, from the layer (0 where the layer gives none: never the build's own time).
    var modificationTime: Int64
    /// Directories: the entries by NUL-terminated name, and the directory `..` leads to (nil for the root).
    var children: [[CChar]: SquashNode] = [:]
    private(set) weak var parent: SquashNode?

    init(_ kind: Kind, permissions: mode_t, modificationTime: Int64, parent: SquashNode? = nil) {
        self.kind = kind
        self.permissions = permissions
        self.modificationTime = modificationTime
        self.parent = parent
    }

    var isDirectory: Bool {
        if case .directory = kind { return true }
        return false
    }
}

/// The merged tree of an image's layers, held in memory (names, modes, times and where each file's data is;
/// no file data). Paths are looked up the way `ConfinedRoot` looks them up on disk, so that a layer writing
/// through `lib -> usr/lib` lands where `create` puts it: a symlink met on the way is resolved inside the tree
/// (an absolute target starts again at the root, `..` stops at the root), missing directories are made with
/// mode 0755, and the last component is never followed.
final class SquashTree {
    /// The container's `/`, as `create` makes it.
    let root = SquashNode(.directory, permissions: 0o755, modificationTime: 0)
    private static let symlinkLimit = 40

    /// The directory `path` names. With `create`, missing directories are made; without it, nil when some
    /// component is missing or not a directory.
    func directory(_ path: MemberPath, create: Bool) throws -> SquashNode? {
        var budget = Self.symlinkLimit
        var current = root
        for component in path.components {
            guard let next = try step(from: current, component, create: create, budget: &budget) else { return nil }
            current = next
        }
        return current
    }

    /// Adds (or replaces) `name` in `directory`.
    func insert(_ node: SquashNode, named name: [CChar], in directory: SquashNode) {
        directory.children[name] = node
    }

    func remove(_ name: [CChar], in directory: SquashNode) {
        directory.children[name] = nil
    }

    func makeDirectory(_ name: [CChar], in parent: SquashNode, permissions: mode_t, time: Int64) -> SquashNode {
        let node = SquashNode(.directory, permissions: permissions, modificationTime: time, parent: parent)
        parent.children[name] = node
        return node
    }

    private func step(from base: SquashNode, _ name: [CChar], create: Bool, budget: inout Int) throws -> SquashNode? {
        guard let next = base.children[name] else {
            guard create else { return nil }
            return makeDirectory(name, in: base, permissions: 0o755, time: 0)
        }
        switch next.kind {
        case .directory:
            return next
        case .file:
            if !create { return nil }
            throw UdockerError(.invalidInput, "\(String(nulTerminated: name)) is not a directory")
        case .symlink(let target):
            budget -= 1
            guard budget >= 0 else {
                throw UdockerError(.invalidInput, "too many levels of symbolic links at \(String(nulTerminated: name))")
            }
            return try follow(target, from: base, create: create, budget: &budget)
        }
    }

    private func follow(_ target: [CChar], from base: SquashNode, create: Bool, budget: inout Int) throws -> SquashNode? {
        let slash = CChar(UInt8(ascii: "/")), dot = CChar(UInt8(ascii: "."))
        let bytes = target.prefix(while: { $0 != 0 })
        var current = bytes.first == slash ? root : base
        for part in bytes.split(separator: slash) {
            if part.elementsEqual([dot]) { continue }
            if part.elementsEqual([dot, dot]) {
                current = current.parent ?? root
                continue
            }
            guard let next = try step(from: current, Array(part) + [0], create: create, budget: &budget) else { return nil }
            current = next
        }
        return current
    }
}
