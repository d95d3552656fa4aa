import Foundation

/// Builds a SquashFS image straight from an image's layers, without extracting them: the image's root is the
/// container's `/`, and it holds exactly the tree `create` extracts (the same whiteouts, confinement, skipped
/// device nodes, modes; owners root; see SquashLayerMerge), nothing else. The layers below the top one are read
/// twice: once for their headers, to merge the tree in memory, once for the data of the files that survive. The
/// top layer is read (and decompressed) once: no later layer can hide its files, so their data goes in as they
/// are merged (a file the same layer names again leaves its first data unreferenced). The same layers give the
/// same bytes (see SquashWriter), so the file's digest can name it.
public enum SquashImageBuilder {
    /// Writes the image of `layers` (bottom first) at `destination`: built under a temporary name beside it,
    /// fsynced, made world-readable and renamed over it, so that `destination` is complete or absent. A
    /// hostile layer fails the build with one line naming the layer and member.
    public static func build(layers: [String], to destination: String) throws {
        let temporary = Paths.dirname(destination) + "/" + Temporary.name(.file, String(UInt32.random(in: 0...UInt32.max)))
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UdockerError.posix("cannot create", temporary) }
        close(fd)
        do {
            let writer = try SquashWriter(path: temporary)
            let tree = try merge(layers, writingTopLayerInto: writer)
            try SquashFileData.write(tree, layers: Array(layers.dropLast()), into: writer)
            try writer.finish(tree)
            withExtendedLifetime(writer) {}
            guard FileSystem.fsyncFile(temporary) else { throw UdockerError.posix("cannot sync", temporary) }
            guard chmod(temporary, 0o644) == 0 else { throw UdockerError.posix("cannot set the mode of", temporary) }
            guard rename(temporary, destination) == 0 else { throw UdockerError.posix("cannot rename over", destination) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    private static func merge(_ layers: [String], writingTopLayerInto writer: SquashWriter) throws -> SquashTree {
        let tree = SquashTree()
        for (index, layer) in layers.enumerated() {
            let writeData: ((SquashNode, ArchiveReader) throws -> Void)? = index < layers.count - 1 ? nil : { node, reader in
                guard case .file(let size, _, _) = node.kind else { return }
                try SquashFileData.write(node, size: size, from: reader, into: writer)
            }
            do {
                try SquashLayerMerge(tree: tree, layer: index).apply(ArchiveReader(.file(layer)), eachFile: writeData)
            } catch let error as UdockerError {
                throw UdockerError(error.code, "cannot build a SquashFS from layer \(Paths.basename(layer)): \(error.description)")
            }
        }
        return tree
    }
}
