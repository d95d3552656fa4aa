import Foundation

/// A container an admin published into a directory on the shared file system (`udocker-launch publish`):
///
///     DIR/NAME.json                 the current version's manifest, replaced atomically by each publish
///     DIR/NAME@<12 hex>.json        one version's manifest (the same fields; never changed)
///     DIR/NAME@<12 hex>.tar.gz      its archive: the container directory (ROOT/ and udocker's files beside it)
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
    /// The node-local stage it becomes: `SCRATCH/udocker-UID/stages/` + this key.
    public var stageKey: String
    /// The archive's file name (beside the manifest), its digest and size.
    public var archive: String
    public var archiveDigest: String
    public var archiveSize: Int64
    public var compression: String
    public var created: String

    static let archiveSuffix = ".tar.gz"
    static let manifestSuffix = ".json"

    /// Whether a launcher target or job template target names a published container (a manifest or an archive
    /// path) rather than an image or container of the repository.
    public static func isPublishedPath(_ target: String) -> Bool {
        target.contains("/") && (target.hasSuffix(manifestSuffix) || target.hasSuffix(archiveSuffix))
    }

    public static func validateName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        guard let first = name.first, first.isLetter || first.isNumber, name.allSatisfy({ allowed.contains($0) }), name.count <= 128 else {
            throw UdockerError(.invalidInput, "invalid published name: \(name) (letters, digits, _ . -; starting with a letter or digit)")
        }
    }

    /// A manifest path, or an archive path (its version's manifest beside it): the version it names, and the
    /// archive's path.
    public static func open(_ path: String) throws -> (PublishedContainer, archivePath: String) {
        let absolute = Paths.absolute(path)
        let manifestPath = absolute.hasSuffix(archiveSuffix) ? String(absolute.dropLast(archiveSuffix.count)) + manifestSuffix : absolute
        guard FileSystem.isFile(manifestPath) else { throw UdockerError(.notFound, "no published container at \(path)") }
        let published: PublishedContainer
        do {
            published = try JSONDecoder().decode(PublishedContainer.self, from: try FileSystem.read(manifestPath))
        } catch let error as UdockerError {
            throw error
        } catch {
            throw UdockerError(.invalidInput, "\(manifestPath) is not a published container's manifest")
        }
        guard Digest.isValid(published.archiveDigest), !published.archive.contains("/") else {
            throw UdockerError(.invalidInput, "\(manifestPath) is not a published container's manifest")
        }
        return (published, Paths.dirname(manifestPath) + "/" + published.archive)
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
