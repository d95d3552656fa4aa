import Foundation

/// Extraction of image layers and plain tarballs into a directory, streaming with libarchive. Nothing is ever
/// created or changed outside the target directory: a member that tries (an absolute name, a `..` component,
/// a hardlink out of the tree) fails the whole archive with an error naming the member; symlinks on the way to
/// a member are resolved inside the directory (see `ConfinedRoot`). Callers remove their half-filled
/// directory on error.
public enum LayerExtractor {
    /// Applies image layers, bottom first, onto `root` (an existing directory): whiteouts and opaque
    /// directories remove what lower layers wrote. Layers may be plain, gzip, zstd, xz or bzip2 tarballs.
    /// With `probe`, only the files it selects are written with their bytes (`ProbeSelection`).
    public static func extract(layers: [String], into root: String, probe: ProbeSelection? = nil) throws {
        try extract(layers: layers.map(ArchiveSource.file), into: root, probe: probe)
    }

    public static func extract(layers: [ArchiveSource], into root: String, probe: ProbeSelection? = nil) throws {
        let confined = try ConfinedRoot(path: root)
        for layer in layers {
            Log.verbose("extracting: \(layer)")
            do {
                try ArchiveExtraction(root: confined, appliesWhiteouts: true, probe: probe).apply(ArchiveReader(layer))
            } catch let error as UdockerError {
                throw UdockerError(error.code, "cannot extract layer \(name(of: layer)): \(error.description)")
            }
        }
    }

    /// Extracts an archive as it is (a `.wh.` file is just a file) into `directory`, with the same confinement.
    public static func extractPlain(_ source: ArchiveSource, into directory: String) throws {
        do {
            try ArchiveExtraction(root: ConfinedRoot(path: directory), appliesWhiteouts: false).apply(ArchiveReader(source))
        } catch let error as UdockerError {
            throw UdockerError(error.code, "cannot extract \(name(of: source)): \(error.description)")
        }
    }

    /// Layers live in tag directories under their digest: the file name is what tells them apart.
    private static func name(of source: ArchiveSource) -> String {
        if case .file(let path) = source { return Paths.basename(path) }
        return source.description
    }
}
