import Foundation

/// What a published archive may put into a stage, and where: `ROOT/` and everything under it, extracted confined
/// to ROOT (no symlink in the container's tree leads out of it, not even into the stage directory beside it); and
/// beside ROOT only the bookkeeping files the publisher writes (`ContainerFile`), as regular files, with F modes'
/// `patch.orig/` directory of original bytes. Anything else — `stage.done`, `.inuse`, a symlink or a directory
/// where one of udocker's files belongs — refuses the archive: only the stager writes `stage.done`, and `.inuse`
/// is the stage's lock.
enum PublishedArchiveLayout {
    /// Extracts `source` into `directory`, whose `ROOT/` exists (ROOT's files as `probe` selects, with one).
    static func extract(_ source: ArchiveSource, into directory: String, probe: ProbeSelection? = nil) throws {
        let reader = try ArchiveReader(source)
        let beside = ArchiveExtraction(root: try ConfinedRoot(path: directory), appliesWhiteouts: false)
        let root = ArchiveExtraction(root: try ConfinedRoot(path: directory + "/ROOT"), appliesWhiteouts: false, probe: probe)
        while let member = try reader.next() {
            do {
                switch try route(member) {
                case .root(let path, let member): try root.apply(member, at: path, from: reader)
                case .beside(let path): try beside.apply(member, at: path, from: reader)
                case .skip: continue
                }
            } catch let error as UdockerError {
                throw UdockerError(error.code, "cannot extract published archive: member \(member.displayName): \(error.description)")
            }
        }
        root.finish()
        beside.finish()
    }

    enum Route {
        /// Into ROOT, at this path (the member's with `ROOT/` taken off, a hardlink's target too).
        case root(MemberPath, ArchiveMember)
        case beside(MemberPath)
        case skip
    }

    static let rootName = "ROOT"
    /// The files beside ROOT that may come from the archive.
    static let bookkeeping = Set(ContainerFile.allCases.filter { $0 != .protect && $0 != .patchOriginals }.map(\.rawValue))

    static func route(_ member: ArchiveMember) throws -> Route {
        let path = try MemberPath(member: member.name)
        if path.isRoot { return .skip }
        let first = String(nulTerminated: path.components[0])
        let isDirectory: Bool, isFile: Bool
        switch member.kind {
        case .directory: (isDirectory, isFile) = (true, false)
        case .file: (isDirectory, isFile) = (false, true)
        default: (isDirectory, isFile) = (false, false)
        }
        switch (first, path.components.count) {
        case (rootName, 1) where isDirectory:
            return .skip
        case (rootName, let count) where count > 1:
            let inside = MemberPath(components: Array(path.components.dropFirst()))
            guard case .hardlink(let target) = member.kind else { return .root(inside, member) }
            let targetPath = try MemberPath(member: target)
            guard targetPath.components.count > 1, String(nulTerminated: targetPath.components[0]) == rootName else {
                throw refusal("a hardlink out of ROOT")
            }
            let stripped = MemberPath(components: Array(targetPath.components.dropFirst())).key.map { CChar(bitPattern: $0) } + [0]
            return .root(inside, ArchiveMember(name: member.name, kind: .hardlink(target: stripped), permissions: member.permissions,
                                               size: member.size, modificationTime: member.modificationTime))
        case (let name, 1) where bookkeeping.contains(name) && isFile:
            return .beside(path)
        case (ContainerFile.patchOriginals.rawValue, 1) where isDirectory, (ContainerFile.patchOriginals.rawValue, 2) where isFile:
            return .beside(path)
        default:
            throw refusal("not part of a published container (only ROOT/ and udocker's own files beside it, as regular files)")
        }
    }

    private static func refusal(_ why: String) -> UdockerError { UdockerError(.invalidInput, why + ": refused") }
}
