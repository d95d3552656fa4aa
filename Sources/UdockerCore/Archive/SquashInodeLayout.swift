import Foundation

/// The inode numbers and link counts of a `SquashTree`, fixed before anything is written: a directory's inode
/// names its parent's number, and a hard-linked file's inode its number of names. Numbers follow the order the
/// inodes are written in (children before their directory, names sorted bytewise, the root last), as
/// mksquashfs and gensquashfs number them.
struct SquashInodeLayout {
    private(set) var numbers: [ObjectIdentifier: UInt32] = [:]
    /// How many names each file or symlink has.
    private(set) var names: [ObjectIdentifier: Int] = [:]

    init(_ tree: SquashTree) { visit(tree.root) }

    var count: Int { numbers.count }

    func number(_ node: SquashNode) -> UInt32 { numbers[ObjectIdentifier(node)]! }

    func links(_ node: SquashNode) -> Int { names[ObjectIdentifier(node)] ?? 1 }

    /// A directory's entries in the order SquashFS requires (bytewise by name).
    static func entries(_ directory: SquashNode) -> [(name: [CChar], node: SquashNode)] {
        directory.children.map { (name: $0.key, node: $0.value) }.sorted {
            $0.name.lexicographicallyPrecedes($1.name) { UInt8(bitPattern: $0) < UInt8(bitPattern: $1) }
        }
    }

    private mutating func visit(_ directory: SquashNode) {
        let entries = Self.entries(directory)
        for entry in entries where entry.node.isDirectory { visit(entry.node) }
        for entry in entries where !entry.node.isDirectory {
            let id = ObjectIdentifier(entry.node)
            names[id, default: 0] += 1
            if numbers[id] == nil { numbers[id] = UInt32(numbers.count + 1) }
        }
        numbers[ObjectIdentifier(directory)] = UInt32(numbers.count + 1)
    }
}
