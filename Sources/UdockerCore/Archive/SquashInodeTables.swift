import CSquashfs
import Foundation

/// Writes the inode and directory tables of a `SquashTree` whose file data is already written: each directory
/// after its subdirectories (its entries name their inodes' places in the inode table), each file or symlink
/// once however many names it has.
final class SquashInodeTables {
    typealias Inode = UnsafeMutablePointer<sqfs_inode_generic_t>
    private let inodes: OpaquePointer
    private let directories: OpaquePointer
    private let layout: SquashInodeLayout
    private let owner: UInt16
    private let fileInodes: (SquashNode) -> Inode?
    /// Where each inode already written is in the inode table.
    private var references: [ObjectIdentifier: UInt64] = [:]

    init(inodes: OpaquePointer, directories: OpaquePointer, layout: SquashInodeLayout, owner: UInt16,
         fileInodes: @escaping (SquashNode) -> Inode?) {
        self.inodes = inodes
        self.directories = directories
        self.layout = layout
        self.owner = owner
        self.fileInodes = fileInodes
    }

    /// Writes the tree under `root`; returns the root inode's reference (for the super block).
    func write(_ root: SquashNode) throws -> UInt64 {
        // The root's `..` is one past the last inode, as mksquashfs writes it.
        try writeDirectory(root, parent: UInt32(layout.count + 1))
    }

    private func writeDirectory(_ directory: SquashNode, parent: UInt32) throws -> UInt64 {
        let number = layout.number(directory)
        let entries = SquashInodeLayout.entries(directory)
        var subdirectories = 0
        for entry in entries where entry.node.isDirectory {
            references[ObjectIdentifier(entry.node)] = try writeDirectory(entry.node, parent: number)
            subdirectories += 1
        }
        for entry in entries where !entry.node.isDirectory && references[ObjectIdentifier(entry.node)] == nil {
            references[ObjectIdentifier(entry.node)] = try writeLeaf(entry.node)
        }
        try SquashRuntime.check(sqfs_dir_writer_begin(directories, 0), "start a directory")
        for entry in entries {
            let reference = references[ObjectIdentifier(entry.node)]!
            let status = entry.name.withUnsafeBufferPointer {
                sqfs_dir_writer_add_entry(directories, $0.baseAddress, layout.number(entry.node), reference, Self.mode(entry.node))
            }
            try SquashRuntime.check(status, "add a directory entry")
        }
        try SquashRuntime.check(sqfs_dir_writer_end(directories), "end a directory")
        guard let inode = sqfs_dir_writer_create_inode(directories, 2 + subdirectories, 0xFFFF_FFFF, parent) else {
            throw UdockerError(.internalError, "libsquashfs: out of memory")
        }
        defer { free(inode) }
        return try write(inode, for: directory)
    }

    private func writeLeaf(_ node: SquashNode) throws -> UInt64 {
        let links = UInt32(layout.links(node))
        switch node.kind {
        case .file:
            guard let inode = fileInodes(node) else { throw UdockerError(.internalError, "a file's data was not written") }
            // Only the extended file inode has a link count.
            if links > 1 && inode.pointee.base.type == UInt16(SQFS_INODE_FILE.rawValue) {
                try SquashRuntime.check(sqfs_inode_make_extended(inode), "make a hard-linked inode")
            }
            if inode.pointee.base.type == UInt16(SQFS_INODE_EXT_FILE.rawValue) { inode.pointee.data.file_ext.nlink = links }
            return try write(inode, for: node)
        case .symlink(let target):
            let bytes = target.prefix { $0 != 0 }
            guard let raw = calloc(1, ud_sqfs_inode_fixed_size() + bytes.count) else {
                throw UdockerError(.internalError, "out of memory")
            }
            defer { free(raw) }
            let inode = raw.bindMemory(to: sqfs_inode_generic_t.self, capacity: 1)
            inode.pointee.base.type = UInt16(SQFS_INODE_SLINK.rawValue)
            inode.pointee.payload_bytes_available = UInt32(bytes.count)
            inode.pointee.payload_bytes_used = UInt32(bytes.count)
            inode.pointee.data.slink.nlink = links
            inode.pointee.data.slink.target_size = UInt32(bytes.count)
            bytes.withUnsafeBytes { ud_sqfs_inode_payload(inode).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return try write(inode, for: node)
        case .directory:
            throw UdockerError(.internalError, "a directory written as a leaf")
        }
    }

    /// Sets the fields every inode shares and appends it to the inode table; returns where it went.
    private func write(_ inode: Inode, for node: SquashNode) throws -> UInt64 {
        inode.pointee.base.mode = Self.mode(node)
        inode.pointee.base.uid_idx = owner
        inode.pointee.base.gid_idx = owner
        inode.pointee.base.mod_time = UInt32(clamping: node.modificationTime)
        inode.pointee.base.inode_number = layout.number(node)
        var block: UInt64 = 0, offset: UInt32 = 0
        sqfs_meta_writer_get_position(inodes, &block, &offset)
        try SquashRuntime.check(sqfs_meta_writer_write_inode(inodes, inode), "write an inode")
        return block << 16 | UInt64(offset)
    }

    private static func mode(_ node: SquashNode) -> UInt16 {
        let type: mode_t
        switch node.kind {
        case .directory: type = S_IFDIR
        case .file: type = S_IFREG
        case .symlink: type = S_IFLNK
        }
        return UInt16(truncatingIfNeeded: type | (node.permissions & 0o7777))
    }
}
