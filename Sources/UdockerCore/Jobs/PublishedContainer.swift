import Foundation

/// A container an admin published into a directory on the shared file system (`udocker-launch publish`):
///
///     DIR/NAME.json                 the current version's manifest, replaced atomically by each publish
///     DIR/NAME@<12 hex>.json        one version's manifest (the same fields; never changed)
///     DIR/NAME@<12 hex>.tar.gz      its archive: the container directory (ROOT/ and udocker's files beside it)
///     DIR/NAME@<12 hex>.sqfs        or, published with --format=squashfs, the image's SquashFS (its root is the
///                                   container's `/`; the image config is in the manifest, the mode set up per node)
///
/// A job names a published container by either manifest or by the archive (the version's manifest lies beside
/// it); the version files of the current and the previous publish are kept, so a job that read the manifest
/// just before a new publish still finds its archive.
public struct PublishedContainer: Sendable, Codable, Equatable {
    public var name: String
    /// The image it was made from, and that image's config digest.
    public var image: String
    public var imageDigest: String?
    /// The mode the launcher runs it in (set up by `publish`), nil to let the launcher choose per node.
    public var mode: String?
    public var nvidia: Bool
    /// The archive's file name (beside the manifest), its digest and size.
    public var archive: String
    public var archiveDigest: String
    public var archiveSize: Int64
    /// `gzip` (a .tar.gz of the set-up container) or `squashfs` (a .sqfs of the image's tree).
    public var compression: String
    public var created: String
    /// For a SquashFS: the image configuration (what becomes container.json), which is not in the tree.
    public var config: String?

    /// The node-local stage it becomes: `SCRATCH/udocker-UID/stages/` + this key. Derived from the archive digest
    /// the launcher verifies, never read from the manifest (a key chosen there could name another stage).
    public var stageKey: String { LaunchTarget.publishedStageKey(archiveDigest) }

    static let archiveSuffix = ".tar.gz"
    static let squashfsSuffix = ".sqfs"
    static let archiveSuffixes = [archiveSuffix, squashfsSuffix]
    static let manifestSuffix = ".json"

    public var isSquashfs: Bool { compression == "squashfs" }

    /// The archive's file name ending for a compression.
    static func suffix(compression: String) -> String { compression == "squashfs" ? squashfsSuffix : archiveSuffix }

    /// `path` without its archive suffix, or nil when it has none.
    static func stem(ofArchive path: String) -> String? {
        archiveSuffixes.first { path.hasSuffix($0) }.map { String(path.dropLast($0.count)) }
    }

    /// Whether a launcher target or job template target names a published container (a manifest or an archive
    /// path) rather than an image or container of the repository.
    public static func isPublishedPath(_ target: String) -> Bool {
        target.contains("/") && (target.hasSuffix(manifestSuffix) || stem(ofArchive: target) != nil)
    }

    public static func validateName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        guard let first = name.first, first.isLetter || first.isNumber, name.allSatisfy({ allowed.contains($0) }), name.count <= 128 else {
            throw UdockerError(.invalidInput, "invalid published name: \(name) (letters, digits, _ . -; starting with a letter or digit)")
        }
    }

    /// A manifest path, or an archive path (its version's manifest beside it): the version it names, and the
    /// archive's path. The manifest and the archive must be files only their publisher could have written
    /// (`PublishedFileTrust`), and every field the launcher uses is checked.
    public static func open(_ path: String) throws -> (PublishedContainer, archivePath: String) {
        let absolute = Paths.absolute(path)
        let archiveStem = stem(ofArchive: absolute)
        let namesArchive = archiveStem != nil
        let manifestPath = archiveStem.map { $0 + manifestSuffix } ?? absolute
        guard FileSystem.isFile(manifestPath) || FileSystem.isSymlink(manifestPath) else {
            throw UdockerError(.notFound, "no published container at \(path)")
        }
        try PublishedFileTrust.check(manifestPath)
        let published: PublishedContainer
        do {
            published = try JSONDecoder().decode(PublishedContainer.self, from: try FileSystem.read(manifestPath))
        } catch let error as UdockerError {
            throw error
        } catch {
            throw UdockerError(.invalidInput, "\(manifestPath) is not a published container's manifest")
        }
        try published.validate(manifestPath)
        if namesArchive && published.archive != Paths.basename(absolute) {
            throw UdockerError(.invalidInput, "\(manifestPath) names archive \(published.archive), not \(Paths.basename(absolute))")
        }
        let archivePath = Paths.dirname(manifestPath) + "/" + published.archive
        // A job may stage from its broadcast copy alone; the archive is checked again when it is opened.
        if FileSystem.exists(archivePath) { try PublishedFileTrust.check(archivePath) }
        return (published, archivePath)
    }

    /// Every name a manifest gives is checked before it is used: the archive's must be the version's own file
    /// name (`NAME@<12 hex of its digest>.tar.gz` or `.sqfs`, beside the manifest), the mode one the launcher knows.
    func validate(_ manifestPath: String) throws {
        func invalid(_ field: String, _ value: String) -> UdockerError {
            UdockerError(.invalidInput, "\(manifestPath) is not a valid published manifest: bad \(field) \(value.debugDescription)")
        }
        do { try Self.validateName(name) } catch { throw invalid("name", name) }
        guard Digest.isValid(archiveDigest) else { throw invalid("archiveDigest", archiveDigest) }
        guard compression == "gzip" || compression == "squashfs" else { throw invalid("compression", compression) }
        guard archive == Self.versionStem(name: name, digest: archiveDigest) + Self.suffix(compression: compression) else {
            throw invalid("archive", archive)
        }
        guard isSquashfs == (config != nil) else { throw invalid("config", config == nil ? "(missing)" : "(not for gzip)") }
        guard archiveSize >= 0 else { throw invalid("archiveSize", String(archiveSize)) }
        if let mode, ExecMode(rawValue: mode) == nil { throw invalid("mode", mode) }
        if let imageDigest, !Digest.isValid(imageDigest) { throw invalid("imageDigest", imageDigest) }
        // Shown in listings and logs: nothing that could end or rewrite a line.
        guard !image.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { throw invalid("image", image) }
    }

    /// The current versions in `directory`, by name.
    public static func list(_ directory: String) throws -> [PublishedContainer] {
        guard FileSystem.isDirectoryFollowingLinks(directory) else { throw UdockerError(.notFound, "no such directory: \(directory)") }
        return try FileSystem.list(directory).sorted()
            .filter { $0.hasSuffix(manifestSuffix) && !$0.hasPrefix(".") && !$0.contains("@") }
            .compactMap { try? open(directory + "/" + $0).0 }
    }

    /// `NAME@<12 hex>`: a version's file names without their suffix.
    static func versionStem(name: String, digest: String) -> String {
        name + "@" + String(digest.split(separator: ":").last ?? "").prefix(12)
    }
}
