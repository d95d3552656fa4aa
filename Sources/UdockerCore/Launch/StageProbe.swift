import Foundation

/// What `--dry-run` decides from when the node has no stage of the target yet: a temporary directory shaped like
/// a stage, in the user's private area beside the stages (never among them), holding the files the decision reads
/// (`ProbeSelection`), removed once the decision is made. A stored container needs no copy: ROOT leads to its own
/// tree, which is only read. The stage itself is never written.
struct StageProbe {
    let directory: String
    /// The real path of the tree the decision looks at.
    let root: String
    /// What staging would write, as the dry run says it: "197.2 MB in 5667 files", or nil for a container.
    let stagedSize: String?
    /// How the decision got its files: "412 of its files (40.1 MB) read from its layers into a temporary directory".
    let source: String

    static func make(_ target: LaunchTarget, repository: Repository, area: StageArea) throws -> StageProbe {
        // Its real path, as the run pipeline names it, so that the plan's paths can be put at the stage's.
        let directory = RunPreparation.realPath(try FileSystem.makeTemporaryDirectory(in: area.base, prefix: ".probe-"))
        chmod(directory, 0o700)
        do {
            return try populate(directory, from: target, repository: repository, area: area)
        } catch {
            try? FileSystem.removeTree(directory)
            throw error
        }
    }

    private static func populate(_ directory: String, from target: LaunchTarget, repository: Repository, area: StageArea) throws -> StageProbe {
        let selection = ProbeSelection()
        let from: String
        switch target {
        case .container(let id):
            guard symlink(repository.containerRoot(id), directory + "/ROOT") == 0 else {
                throw UdockerError.posix("cannot make the dry run's probe", directory)
            }
            for file in ContainerFile.allCases where file != .protect && FileSystem.isFile(repository.containerFile(id, file)) {
                try FileSystem.atomicWrite(try FileSystem.read(repository.containerFile(id, file)), to: directory + "/" + file.rawValue)
            }
            return StageProbe(directory: directory, root: RunPreparation.realPath(repository.containerRoot(id)), stagedSize: nil,
                              source: "its tree in the repository, only read")
        case .image(let image):
            try FileSystem.makeDirectories(directory + "/ROOT")
            try NodeStage.materialize(image, into: directory, probe: selection)
            from = "its layers"
        case .published(let published, let archive):
            try FileSystem.makeDirectories(directory + "/ROOT")
            try PublishedStaging.extract(published, archive: archive, scratch: area.scratch, into: directory, probe: selection)
            from = "the archive"
        }
        return StageProbe(directory: directory, root: directory + "/ROOT",
                          stagedSize: "\(megabytes(selection.bytes)) in \(selection.files) files",
                          source: "\(selection.keptFiles) of its files (\(megabytes(selection.keptBytes))) read from \(from) "
                                  + "into a temporary directory, since removed")
    }

    static func megabytes(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

    func remove() { try? FileSystem.removeTree(directory) }
}
