import CSquashfs
import Foundation

/// An open SquashFS image, read with libsquashfs: its tree (names, inodes, owners) and its files' data. Any
/// failure to make sense of it (truncated, corrupt, not SquashFS) is one line naming the file.
final class SquashImageReader {
    typealias TreeNode = UnsafeMutablePointer<sqfs_tree_node_t>
    private let path: String
    private let file: UnsafeMutablePointer<sqfs_file_t>
    private var superBlock = sqfs_super_t()
    private var compressor: UnsafeMutablePointer<sqfs_compressor_t>?
    private var ids: OpaquePointer?
    private var directories: OpaquePointer?
    private var data: OpaquePointer?
    /// The whole tree, from the root.
    private(set) var root: TreeNode?

    init(path: String) throws {
        try SquashRuntime.load()
        guard let file = sqfs_open_file(path, UInt32(SQFS_FILE_OPEN_READ_ONLY.rawValue)) else {
            throw UdockerError.posix("cannot open", path)
        }
        self.path = path
        self.file = file
        try check(sqfs_super_read(&superBlock, file), "its super block")
        var config = sqfs_compressor_config_t()
        try check(sqfs_compressor_config_init(&config, SQFS_COMPRESSOR(UInt32(superBlock.compression_id)), Int(superBlock.block_size),
                                              UInt16(SQFS_COMP_FLAG_UNCOMPRESS.rawValue)), "its compressor")
        try check(sqfs_compressor_create(&config, &compressor), "its compressor")
        ids = sqfs_id_table_create(0)
        guard ids != nil else { throw UdockerError(.internalError, "libsquashfs: out of memory") }
        try check(sqfs_id_table_read(ids, file, &superBlock, compressor), "its owner table")
        directories = sqfs_dir_reader_create(&superBlock, compressor, file, 0)
        data = sqfs_data_reader_create(file, Int(superBlock.block_size), compressor, 0)
        guard directories != nil, data != nil else { throw UdockerError(.internalError, "libsquashfs: out of memory") }
        try check(sqfs_data_reader_load_fragment_table(data, &superBlock), "its fragment table")
        try check(sqfs_dir_reader_get_full_hierarchy(directories, ids, nil, 0, &root), "its directory tree")
    }

    deinit {
        if let root { sqfs_dir_tree_destroy(root) }
        if let data { ud_sqfs_destroy(UnsafeMutableRawPointer(data)) }
        if let directories { ud_sqfs_destroy(UnsafeMutableRawPointer(directories)) }
        if let ids { ud_sqfs_destroy(UnsafeMutableRawPointer(ids)) }
        if let compressor { ud_sqfs_destroy(compressor) }
        ud_sqfs_destroy(file)
    }

    /// Hands a file's data to `body` in pieces of at most 1 MiB, from the start; `size` is the file's size.
    func readData(_ inode: UnsafeMutablePointer<sqfs_inode_generic_t>, size: UInt64, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < size {
            let want = UInt32(min(UInt64(buffer.count), size - offset))
            let got = sqfs_data_reader_read(data, inode, offset, buffer.baseAddress, want)
            guard got > 0 else { throw invalid("a file's data", status: got) }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<Int(got)]))
            offset += UInt64(got)
        }
    }

    private func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else { throw invalid(what, status: status) }
    }

    func invalid(_ what: String, status: Int32) -> UdockerError {
        UdockerError(.invalidInput, "\(path) is not a readable SquashFS image: cannot read \(what) (libsquashfs error \(status))")
    }
}
