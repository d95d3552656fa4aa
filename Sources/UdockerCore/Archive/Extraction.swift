import Foundation

// API of the archive layer. Implementation: the Archive work item (libarchive, dirfd-anchored, whiteouts).

/// Where archive bytes come from: a file, or an already open descriptor such as stdin (fd 0).
public enum ArchiveSource: Sendable {
    case file(String)
    case descriptor(Int32)
}

public enum LayerExtractor {
    /// Applies image layers, bottom first, onto `root` (an existing directory): whiteouts and opaque
    /// directories remove what lower layers wrote; nothing is ever created or changed outside `root`.
    public static func extract(layers: [String], into root: String) throws {
        fatalError("LayerExtractor.extract is implemented by the archive work item")
    }

    /// Extracts an archive as-is (no whiteout processing) into `directory`, with the same confinement rules.
    public static func extractPlain(_ source: ArchiveSource, into directory: String) throws {
        fatalError("LayerExtractor.extractPlain is implemented by the archive work item")
    }
}

public enum TarWriter {
    /// Writes the tree under `directory` (paths relative to it, symlinks as links, hardlinks preserved)
    /// as a POSIX tar to `output`, optionally gzip-compressed.
    public static func write(directory: String, to output: Int32, gzip: Bool = false) throws {
        fatalError("TarWriter.write is implemented by the archive work item")
    }
}
