import CSquashfs
import Foundation

/// A SquashFS image being written with libsquashfs: file data first (`beginFile`/`append`/`endFile`, in the
/// order the caller feeds it), then the tree (`finish`), then the tables and the super block. The settings are
/// fixed so that the same input gives the same bytes: 128 KiB blocks, zstd level 3 (fast to build, fast to read),
/// the super block's time 0, every owner root (the container's `/` is owned by the user who runs it, as a
/// `create` tree is), no extended attributes, no export table.
final class SquashWriter {
    static let blockSize = 128 * 1024
    static let zstdLevel: UInt32 = 3

    private let path: String
    private let file: UnsafeMutablePointer<sqfs_file_t>
    private var superBlock = sqfs_super_t()
    private var compressor: UnsafeMutablePointer<sqfs_compressor_t>?
    private var blockWriter: UnsafeMutablePointer<sqfs_block_writer_t>?
    private var fragments: OpaquePointer?
    private var processor: OpaquePointer?
    private var ids: OpaquePointer?
    /// The inode the block processor made for each file, filled in (and moved) as the data is written.
    private var fileInodes: [ObjectIdentifier: UnsafeMutablePointer<UnsafeMutablePointer<sqfs_inode_generic_t>?>] = [:]
    /// Every node given data, held so that no identifier above is reused: a file the top layer names twice
    /// leaves the tree after its data was written (SquashImageBuilder).
    private var filed: [SquashNode] = []

    /// Starts the image at `path`, an existing empty file that is overwritten.
    init(path: String) throws {
        try SquashRuntime.load()
        guard let file = sqfs_open_file(path, UInt32(SQFS_FILE_OPEN_OVERWRITE.rawValue)) else {
            throw UdockerError.posix("cannot open", path)
        }
        self.path = path
        self.file = file
        try SquashRuntime.check(sqfs_super_init(&superBlock, Self.blockSize, 0, SQFS_COMP_ZSTD), "set up the super block")
        var config = sqfs_compressor_config_t()
        try SquashRuntime.check(sqfs_compressor_config_init(&config, SQFS_COMP_ZSTD, Self.blockSize, 0), "configure zstd")
        config.level = Self.zstdLevel
        try SquashRuntime.check(sqfs_compressor_create(&config, &compressor), "create the zstd compressor")
        try SquashRuntime.check(sqfs_super_write(&superBlock, file), "write the super block")
        // The compressor's options (its level) follow the super block; readers learn them from this flag.
        if ud_sqfs_compressor_write_options(compressor, file) > 0 {
            superBlock.flags |= UInt16(SQFS_FLAG_COMPRESSOR_OPTIONS.rawValue)
        }
        blockWriter = sqfs_block_writer_create(file, 4096, 0)
        fragments = sqfs_frag_table_create(0)
        ids = sqfs_id_table_create(0)
        // Workers compress in parallel; the processor writes blocks in submission order, so the bytes do not
        // depend on their number.
        let workers = UInt32(max(1, min(8, ProcessInfo.processInfo.activeProcessorCount)))
        processor = sqfs_block_processor_create(Self.blockSize, compressor, workers, Int(workers) * 10, blockWriter, fragments)
        guard blockWriter != nil, fragments != nil, ids != nil, processor != nil else {
            throw UdockerError(.internalError, "libsquashfs: out of memory")
        }
    }

    deinit {
        if let processor { ud_sqfs_destroy(UnsafeMutableRawPointer(processor)) }
        for slot in fileInodes.values {
            free(slot.pointee)
            slot.deallocate()
        }
        if let ids { ud_sqfs_destroy(UnsafeMutableRawPointer(ids)) }
        if let fragments { ud_sqfs_destroy(UnsafeMutableRawPointer(fragments)) }
        if let blockWriter { ud_sqfs_destroy(blockWriter) }
        if let compressor { ud_sqfs_destroy(compressor) }
        ud_sqfs_destroy(file)
    }

    // MARK: file data

    func beginFile(_ node: SquashNode) throws {
        let slot = UnsafeMutablePointer<UnsafeMutablePointer<sqfs_inode_generic_t>?>.allocate(capacity: 1)
        slot.initialize(to: nil)
        fileInodes[ObjectIdentifier(node)] = slot
        filed.append(node)
        try SquashRuntime.check(sqfs_block_processor_begin_file(processor, slot, nil, 0), "start a file")
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try SquashRuntime.check(sqfs_block_processor_append(processor, base, bytes.count), "write file data")
    }

    func endFile() throws {
        try SquashRuntime.check(sqfs_block_processor_end_file(processor), "end a file")
    }

    // MARK: tree and tables

    /// Writes the inodes and directories of `tree` (every file's data written before), the tables and the
    /// super block, pads the image to 4 KiB (for loop devices), and closes it.
    func finish(_ tree: SquashTree) throws {
        try SquashRuntime.check(sqfs_block_processor_finish(processor), "write the file data")
        var rootUID: UInt16 = 0
        try SquashRuntime.check(sqfs_id_table_id_to_index(ids, 0, &rootUID), "record the owner")
        let layout = SquashInodeLayout(tree)

        superBlock.inode_table_start = ud_sqfs_file_size(file)
        guard let inodeTable = sqfs_meta_writer_create(file, compressor, 0),
              let directoryTable = sqfs_meta_writer_create(file, compressor, UInt32(SQFS_META_WRITER_KEEP_IN_MEMORY.rawValue)) else {
            throw UdockerError(.internalError, "libsquashfs: out of memory")
        }
        defer {
            ud_sqfs_destroy(UnsafeMutableRawPointer(inodeTable))
            ud_sqfs_destroy(UnsafeMutableRawPointer(directoryTable))
        }
        guard let directories = sqfs_dir_writer_create(directoryTable, 0) else {
            throw UdockerError(.internalError, "libsquashfs: out of memory")
        }
        defer { ud_sqfs_destroy(UnsafeMutableRawPointer(directories)) }
        let tables = SquashInodeTables(inodes: inodeTable, directories: directories, layout: layout, owner: rootUID,
                                       fileInodes: { [fileInodes] in fileInodes[ObjectIdentifier($0)]?.pointee })
        superBlock.root_inode_ref = try tables.write(tree.root)

        try SquashRuntime.check(sqfs_meta_writer_flush(inodeTable), "write the inode table")
        try SquashRuntime.check(sqfs_meta_writer_flush(directoryTable), "write the directory table")
        superBlock.directory_table_start = ud_sqfs_file_size(file)
        try SquashRuntime.check(sqfs_meta_write_write_to_file(directoryTable), "write the directory table")
        try SquashRuntime.check(sqfs_frag_table_write(fragments, file, &superBlock, compressor), "write the fragment table")
        try SquashRuntime.check(sqfs_id_table_write(ids, file, &superBlock, compressor), "write the owner table")
        superBlock.inode_count = UInt32(layout.count)
        superBlock.bytes_used = ud_sqfs_file_size(file)
        try SquashRuntime.check(sqfs_super_write(&superBlock, file), "write the super block")
        let size = ud_sqfs_file_size(file)
        if size % 4096 != 0 {
            try SquashRuntime.check(ud_sqfs_file_truncate(file, size + 4096 - size % 4096), "pad the image")
        }
    }
}
