import Foundation

/// Builds a SquashFS image straight from an image's layers, without extracting them: the image's root is the
/// container's `/`, and it holds exactly the tree `create` extracts (the same whiteouts, confinement, skipped
/// device nodes, modes; owners root; see SquashLayerMerge), nothing else. The layers are read twice: once for
/// their headers, to merge the tree in memory, once for the data of the files that survive. The same layers
/// give the same bytes (see SquashWriter), so the file's digest can name it.
public enum SquashImageBuilder {
    /// Writes the image of `layers` (bottom first) at `destination`: built under a temporary name beside it,
    /// fsynced, made world-readable and renamed over it, so that `destination` is complete or absent. A
    /// hostile layer fails the build with one line naming the layer and member.
    public static func build(layers: [String], to destination: String) throws {
        let tree = SquashTree()
        for (index, layer) in layers.enumerated() {
            do {
                try SquashLayerMerge(tree: tree, layer: index).apply(ArchiveReader(.file(layer)))
            } catch let error as UdockerError {
                throw UdockerError(error.code, "cannot build a SquashFS from layer \(Paths.basename(layer)): \(error.description)")
            }
        }
        let temporary = Paths.dirname(destination) + "/" + Temporary.name(.file, String(UInt32.random(in: 0...UInt32.max)))
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UdockerError.posix("cannot create", temporary) }
        close(fd)
        do {
            let writer = try SquashWriter(path: temporary)
            try SquashFileData.write(tree, layers: layers, into: writer)
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
}
