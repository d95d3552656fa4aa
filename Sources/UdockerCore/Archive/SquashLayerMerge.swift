import Foundation

/// Applies the member headers of one layer onto a `SquashTree`, with the rules `ArchiveExtraction` applies on
/// disk for `create`: another type over an existing name replaces it (a file over a directory removes the
/// tree), a directory over a directory merges, whiteouts and opaque directories remove only what lower layers
/// left, device nodes, fifos and sockets are skipped, names and hard links are confined to the tree (see
/// `MemberPath`), and modes are those `create` leaves (owner-writable, no setuid or setgid). No data is read
/// here: each file remembers which member holds it, and `eachFile` (the top layer's, whose files no later layer
/// can hide) may read it while the reader is at the member.
final class SquashLayerMerge {
    private let tree: SquashTree
    private let layer: Int
    /// Keys of the paths this layer has written, with their parent directories (as ArchiveExtraction keeps them).
    private var written = Set<[UInt8]>()

    init(tree: SquashTree, layer: Int) {
        self.tree = tree
        self.layer = layer
    }

    func apply(_ reader: ArchiveReader, eachFile: ((SquashNode, ArchiveReader) throws -> Void)? = nil) throws {
        var ordinal = 0
        while let member = try reader.next() {
            defer { ordinal += 1 }
            do {
                if let file = try apply(member, ordinal: ordinal), let eachFile { try eachFile(file, reader) }
            } catch let error as UdockerError {
                throw UdockerError(error.code, "member \(member.displayName): \(error.description)")
            }
        }
    }

    /// The new file's node, when the member is a regular file.
    private func apply(_ member: ArchiveMember, ordinal: Int) throws -> SquashNode? {
        let path = try MemberPath(member: member.name)
        if path.isRoot { return nil }
        if let whiteout = try LayerWhiteout(path) {
            try apply(whiteout, at: path)
            return nil
        }
        if case .special = member.kind { return nil }
        guard let parent = try tree.directory(path.parent, create: true) else {
            throw UdockerError(.internalError, "cannot create the parent directory")
        }
        let name = path.name
        let time = Int64(member.modificationTime?.tv_sec ?? 0)
        var file: SquashNode?
        switch member.kind {
        case .directory:
            let mode = ArchiveExtraction.directoryMode(member.permissions)
            if let existing = parent.children[name], existing.isDirectory {
                existing.permissions = mode
                if member.modificationTime != nil { existing.modificationTime = time }
            } else {
                _ = tree.makeDirectory(name, in: parent, permissions: mode, time: time)
            }
        case .file:
            let node = SquashNode(.file(size: member.size ?? 0, layer: layer, member: ordinal),
                                  permissions: ArchiveExtraction.fileMode(member.permissions), modificationTime: time)
            tree.insert(node, named: name, in: parent)
            file = node
        case .symlink(let target):
            tree.insert(SquashNode(.symlink(target: target), permissions: 0o777, modificationTime: time), named: name, in: parent)
        case .hardlink(let target):
            try link(name, in: parent, at: path, to: MemberPath(member: target))
        case .special:
            return nil
        }
        remember(path)
        return file
    }

    /// A hard link shares its target's node: the target is a member path resolved inside the tree, never a directory.
    private func link(_ name: [CChar], in parent: SquashNode, at path: MemberPath, to target: MemberPath) throws {
        guard !target.isRoot else { throw UdockerError(.invalidInput, "hardlink to the root directory") }
        if target.key == path.key { return }
        let notFound = UdockerError(.notFound, "hardlink target \(target.display) not found")
        guard let targetParent = try tree.directory(target.parent, create: false),
              let node = targetParent.children[target.name] else { throw notFound }
        guard !node.isDirectory else { throw UdockerError(.invalidInput, "hardlink target \(target.display) is a directory") }
        tree.insert(node, named: name, in: parent)
    }

    private func apply(_ whiteout: LayerWhiteout, at path: MemberPath) throws {
        switch whiteout {
        case .opaque:
            guard let directory = try tree.directory(path.parent, create: false) else { return }
            removeLowerContent(of: directory, key: path.parent.key)
        case .hides(let hidden):
            if written.contains(path.parent.appending(hidden).key) { return }
            guard let directory = try tree.directory(path.parent, create: false) else { return }
            tree.remove(hidden, in: directory)
        case .nothing:
            return
        }
    }

    /// Empties a directory of everything this layer did not write, recursing into the directories it did.
    private func removeLowerContent(of directory: SquashNode, key: [UInt8]) {
        for (child, node) in directory.children {
            var childKey = key
            if !childKey.isEmpty { childKey.append(UInt8(ascii: "/")) }
            childKey.append(contentsOf: child.dropLast().map { UInt8(bitPattern: $0) })
            guard written.contains(childKey) else {
                tree.remove(child, in: directory)
                continue
            }
            if node.isDirectory { removeLowerContent(of: node, key: childKey) }
        }
    }

    private func remember(_ path: MemberPath) {
        var key = path.key
        while written.insert(key).inserted {
            guard let slash = key.lastIndex(of: UInt8(ascii: "/")) else { return }
            key.removeSubrange(slash...)
        }
    }
}
