import Foundation

/// What the launcher runs: an image (staged by extracting its layer blobs: a few large sequential reads of the
/// shared file system), a stored container (staged by streaming its tree, or run in place) or a published
/// container (staged from its archive, one sequential read, verified as it goes: `PublishedStaging`).
public enum LaunchTarget: Sendable {
    case image(StoredImage)
    case container(id: String)
    case published(PublishedContainer, archive: String)

    /// The stage's name, keyed by content: an image by its config (or manifest) digest, a container by its id
    /// and a stamp of its last change, so an edited container is staged anew and an unchanged one is reused.
    public func stageKey(repository: Repository) throws -> String {
        switch self {
        case .image(let image):
            let identity = try image.configDigest ?? Digest.sha256(image.manifest)
            return "image-" + String(identity.split(separator: ":").last ?? "").prefix(24)
        case .container(let id):
            return "container-\(id)-" + (try ContainerStamp.of(id: id, repository: repository))
        case .published(let published, _):
            return published.stageKey
        }
    }

    /// A published container's stage is named by its archive's digest.
    public static func publishedStageKey(_ archiveDigest: String) -> String {
        "published-" + String(archiveDigest.split(separator: ":").last ?? "").prefix(24)
    }

    public var description: String {
        switch self {
        case .image(let image): return image.reference.description
        case .container(let id): return id
        case .published(_, let archive): return archive
        }
    }
}

/// A cheap stamp of a container's last change: the change times of its directory, its ROOT and the files udocker
/// changes beside it (a few stats, never a tree walk, so every rank can afford it on a shared file system).
/// `udocker run`, `setup` and `import` touch these; a change deep inside ROOT made by other means is not seen,
/// which `udocker-launch clean` remedies.
enum ContainerStamp {
    static func of(id: String, repository: Repository) throws -> String {
        let paths = [repository.containerDir(id), repository.containerRoot(id),
                     repository.containerFile(id, .execMode), repository.containerFile(id, .containerJSON)]
        var text = ""
        for path in paths {
            var st = stat()
            if stat(path, &st) == 0 { text += "\(st.st_ino):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec):\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec);" }
        }
        return String(try Digest.sha256(Data(text.utf8)).split(separator: ":").last ?? "").prefix(12).description
    }
}

/// A container materialised in node-local scratch: the directory holds ROOT and the files a container directory
/// has (container.json, F-mode bookkeeping), so the run pipeline treats it like any container.
public struct StagedContainer: Sendable {
    public let key: String
    public let directory: String
    /// This rank's shared hold on the stage (see `StageHold`); nil for a stage only looked at.
    public internal(set) var hold: StageHold?
    public var root: String { directory + "/ROOT" }
    public var doneFile: String { directory + "/" + NodeStage.doneName }
    /// Held shared by every rank using the stage (inherited across exec), so `clean` never removes a stage in use.
    public var inUseFile: String { directory + "/.inuse" }

    public init(key: String, directory: String, hold: StageHold? = nil) {
        self.key = key; self.directory = directory; self.hold = hold
    }
}

/// Staging once per node: the first local rank to take the stage lock extracts the image (or copies the container)
/// into a temporary directory, takes its hold there, renames it into place, lets `finish` do once-per-node set-up
/// there (F-mode patching for the stage's fixed path), and writes `stage.done` last. Every other rank takes the
/// stage's hold and then finds `stage.done` (no stage lock, no walk), or waits on the stage lock. A rank killed
/// half-way leaves a temporary or an unfinished stage, never `stage.done`; the next holder of the lock removes
/// what it left and stages anew. A stager that fails leaves a note (`StageFailure`), so that the ranks waiting
/// behind it do not all repeat a failure that will not go away.
public struct NodeStage: Sendable {
    static let doneName = "stage.done"

    public var area: StageArea
    public var repository: Repository
    public var rank: RankContext
    public var timeout: Double

    public init(area: StageArea, repository: Repository, rank: RankContext, timeout: Double) {
        self.area = area; self.repository = repository; self.rank = rank; self.timeout = timeout
    }

    /// The finished stage of `key` on this node, or nil (looked at, not held).
    public func finished(_ key: String) -> StagedContainer? {
        let stage = StagedContainer(key: key, directory: area.stageDir(key))
        return FileSystem.exists(stage.doneFile) ? stage : nil
    }

    func lockPath(_ key: String) -> String { area.locksDir + "/stage-" + key + ".lock" }

    /// Returns the finished stage `key` of `target`, held by this rank, staging it when no rank of this node has yet.
    /// `populate` fills the temporary directory instead of the target's tree (a mounted image's metadata).
    public func ensure(_ target: LaunchTarget, key: String, populate: ((String) throws -> Void)? = nil,
                       finish: (StagedContainer) throws -> Void) throws -> StagedContainer {
        var stage = StagedContainer(key: key, directory: area.stageDir(key))
        if let hold = try StageHold.take(stage) {
            area.log("reused", key: key, rank: rank)
            stage.hold = hold
            return stage
        }
        let lock = try StageLock(path: lockPath(key), timeout: timeout, holder: "rank \(rank.rank) (pid \(getpid()) on \(rank.node))")
        defer { withExtendedLifetime(lock) {} }
        if let hold = try StageHold.take(stage) {
            area.log("reused", key: key, rank: rank, detail: "after-wait")
            stage.hold = hold
            return stage
        }
        let failures = StageFailure(path: lockPath(key) + ".failed", rank: rank)
        try failures.refuseRepeat(key: key)
        try removeLeftovers(of: key)
        let started = Date()
        let temporary = try FileSystem.makeTemporaryDirectory(in: area.stagesDir, prefix: ".staging-" + key + "-")
        var hold: StageHold?
        do {
            if let populate { try populate(temporary) } else { try self.populate(temporary, from: target) }
            hold = try StageHold.create(in: temporary, finalPath: stage.inUseFile)
            chmod(temporary, 0o700)
            guard rename(temporary, stage.directory) == 0 else { throw UdockerError.posix("cannot rename stage into place", stage.directory) }
            stage.hold = hold
            try finish(stage)
            let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
            try FileSystem.atomicWrite("key \(key)\nsource \(target.description)\nnode \(rank.node)\nrank \(rank.rank)\nseconds \(seconds)\n",
                                       to: stage.doneFile)
            area.log("staged", key: key, rank: rank, detail: "seconds=\(seconds)")
        } catch {
            hold?.release()
            try? FileSystem.removeTree(temporary)
            try? remove(stage.directory)
            area.log("failed", key: key, rank: rank, detail: "reason=" + StageFailure.reason(error).replacingOccurrences(of: " ", with: "_"))
            throw failures.record(error, key: key)
        }
        failures.clear()
        return stage
    }

    /// Under the stage lock no other process is building this key: any temporary or unfinished stage of it was
    /// left by a rank that died.
    private func removeLeftovers(of key: String) throws {
        for name in try FileSystem.list(area.stagesDir) where name.hasPrefix(".staging-" + key + "-") {
            try remove(area.stagesDir + "/" + name)
        }
        if FileSystem.exists(area.stageDir(key)) { try remove(area.stageDir(key)) }
    }

    /// Renamed away first, so that nothing half-removed carries the stage's name.
    func remove(_ directory: String) throws {
        guard FileSystem.exists(directory) else { return }
        let doomed = area.stagesDir + "/.rm-" + Paths.basename(directory) + "-\(getpid())"
        guard rename(directory, doomed) == 0 else { throw UdockerError.posix("cannot remove stage", directory) }
        try FileSystem.removeTree(doomed)
    }

    /// An image as a container directory: its layers extracted into `directory`/ROOT (which exists), its name
    /// and config beside it. (`publish` builds its containers the same way.)
    static func materialize(_ image: StoredImage, into directory: String, probe: ProbeSelection? = nil) throws {
        try LayerExtractor.extract(layers: image.layerFiles, into: directory + "/ROOT", probe: probe)
        try writeMetadata(image, into: directory)
    }

    /// An image's name and config beside ROOT, in a stage extracted or mounted (ImageMount).
    static func writeMetadata(_ image: StoredImage, into directory: String) throws {
        try FileSystem.atomicWrite(image.reference.description, to: directory + "/" + ContainerFile.imageRepoName.rawValue)
        if let config = try? image.configJSON() {
            try FileSystem.atomicWrite(config, to: directory + "/" + ContainerFile.containerJSON.rawValue)
        }
    }

    private func populate(_ directory: String, from target: LaunchTarget) throws {
        let root = directory + "/ROOT"
        try FileSystem.makeDirectories(root)
        switch target {
        case .image(let image):
            try Self.materialize(image, into: directory)
        case .published(let published, let archive):
            try PublishedStaging.extract(published, archive: archive, scratch: area.scratch, into: directory)
        case .container(let id):
            try TreeCopy.copy(repository.containerRoot(id), into: root)
            // The bookkeeping too: an F-mode container's patches record their originals, to be redone for the stage.
            for file in ContainerFile.allCases where file != .protect && FileSystem.isFile(repository.containerFile(id, file)) {
                try FileSystem.atomicWrite(try FileSystem.read(repository.containerFile(id, file)), to: directory + "/" + file.rawValue)
            }
        }
    }
}
