import Foundation

/// The second read of the layers below the top one (whose data went in as it was merged): the data of every file
/// that survived the merge goes into the image, in layer order and member order (a fixed order: the same layers
/// give the same bytes). A member whose file was replaced or whited out by a later layer is skipped unread.
enum SquashFileData {
    static func write(_ tree: SquashTree, layers: [String], into writer: SquashWriter) throws {
        var wanted = [[Int: SquashNode]](repeating: [:], count: layers.count)
        collect(tree.root, into: &wanted)
        for (index, layer) in layers.enumerated() where !wanted[index].isEmpty {
            let reader = try ArchiveReader(.file(layer))
            var ordinal = 0
            while let member = try reader.next() {
                defer { ordinal += 1 }
                guard let node = wanted[index].removeValue(forKey: ordinal), case .file(let size, _, _) = node.kind else { continue }
                do {
                    try write(node, size: size, from: reader, into: writer)
                } catch let error as UdockerError {
                    throw UdockerError(error.code, "layer \(Paths.basename(layer)): member \(member.displayName): \(error.description)")
                }
            }
            guard wanted[index].isEmpty else {
                throw UdockerError(.io, "layer \(Paths.basename(layer)) changed while the SquashFS was built from it")
            }
        }
    }

    private static func collect(_ directory: SquashNode, into wanted: inout [[Int: SquashNode]]) {
        for node in directory.children.values {
            switch node.kind {
            case .directory: collect(node, into: &wanted)
            case .file(_, let layer, let member): if layer < wanted.count { wanted[layer][member] = node }
            case .symlink: continue
            }
        }
    }

    /// One file's data, holes of a sparse member filled with zeros (the block processor stores zero blocks
    /// sparse again), padded to its declared size as `create` sizes it.
    static func write(_ node: SquashNode, size: Int64, from reader: ArchiveReader, into writer: SquashWriter) throws {
        try writer.beginFile(node)
        var end: Int64 = 0
        try reader.readData { block, offset in
            if offset > end { try zeros(offset - end, into: writer) }
            try writer.append(block)
            end = offset + Int64(block.count)
        }
        if size > end { try zeros(size - end, into: writer) }
        try writer.endFile()
    }

    private static let zeroBlock = [UInt8](repeating: 0, count: 64 * 1024)

    private static func zeros(_ count: Int64, into writer: SquashWriter) throws {
        var left = count
        while left > 0 {
            let chunk = Int(min(left, Int64(zeroBlock.count)))
            try zeroBlock.withUnsafeBytes { try writer.append(UnsafeRawBufferPointer(rebasing: $0[..<chunk])) }
            left -= Int64(chunk)
        }
    }
}
