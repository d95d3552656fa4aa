import Foundation

/// Running a SquashFS without extracting it (issue 17): the step's U1 keeper on the node mounts the one file with
/// FUSE (SquashMount) and every rank of the step on the node runs from that mount, through a writable layer in
/// memory of the namespace's own, or read-only with `--write=none`. The node keeps a stage of metadata only,
/// `stages/<key>-mount/` (`-copy` with `--stage=copy`): container.json, the image's name, `image.source` (which
/// file, as verified), the empty mount points `image/` and `ROOT/`, and with `--stage=copy` the node's copy
/// `image.sqfs`. The ranks plan (passwd, the command, the MPI libraries) by reading the image where the keeper
/// serves it, `/proc/KEEPER/root` + the mount point, and join its namespace at exec.
struct ImageMount {
    /// The file the keeper mounts, and the stage of metadata beside it.
    let file: String
    let stage: StagedContainer
    let readOnly: Bool

    var mountPoint: String { stage.directory + "/image" }

    /// Why `target` is not run from a mounted SquashFS with this request here; nil when it is. Cheap: no file of
    /// the target is read.
    static func obstacle(_ target: LaunchTarget, request: LaunchRequest, userNamespaceFailure: () -> String?) -> String? {
        switch target {
        case .container: return "a stored container is a tree, not a SquashFS image"
        case .published(let published, _) where !published.isSquashfs:
            return "the published container is a tar.gz archive (publish it with --format=squashfs to mount it)"
        default: break
        }
        if [.always, .extract, .never].contains(request.stage) { return "--stage=\(request.stage.rawValue)" }
        if let mode = request.execMode, mode != .U1 { return "mode \(mode.rawValue) runs from an extracted tree (only U1 mounts)" }
        if !request.join { return "--join=no: a mounted image is served by the namespace the step's ranks share" }
        if let failure = userNamespaceFailure() { return failure }
        return SquashMount.availability()
    }

    /// The stage key of the mount of `target`.
    static func key(_ baseKey: String, policy: LaunchRequest.StagePolicy) -> String {
        baseKey + (policy == .copy ? "-copy" : "-mount")
    }

    /// Once per node, by the rank that makes the stage: the metadata, and which file is mounted, verified.
    /// `squashfs`: an image's, in the repository.
    static func populate(_ directory: String, from target: LaunchTarget, squashfs: String?, scratch: String, copy: Bool) throws {
        for name in ["ROOT", "image"] { try FileSystem.makeDirectories(directory + "/" + name) }
        var file: String
        switch target {
        case .published(let published, let archive):
            // Read whole once here (its digest): a broadcast copy, else the published file.
            file = try PublishedStaging.verifiedSquashfs(published, archive: archive, scratch: scratch)
            try PublishedStaging.writeMetadata(published, into: directory)
        case .image(let image):
            guard let squashfs else { throw UdockerError(.internalError, "no SquashFS given for \(image.reference)") }
            file = squashfs
            try PublishedFileTrust.check(file)
            try NodeStage.writeMetadata(image, into: directory)
        case .container:
            throw UdockerError(.internalError, "a stored container cannot be mounted")
        }
        // One sequential read of the one file, where a broadcast step has not already put a copy on the node.
        if copy && !file.hasPrefix(StageArea.broadcastDir(scratch: scratch) + "/") {
            let copied = directory + "/image.sqfs"
            guard FileSystem.copyFile(file, to: copied) else { throw UdockerError.posix("cannot copy \(file) to", copied) }
            if case .published(let published, _) = target, try Digest.sha256(file: copied) != published.archiveDigest {
                throw UdockerError(.invalidInput, "\(file) changed while it was copied to \(copied): refused")
            }
            file = copied
        }
        // The node's copy is named relative to the stage: this directory is renamed into place after.
        let record = try MountedFileRecord(file, in: directory)
        try FileSystem.atomicWrite(record.text, to: directory + "/" + MountedFileRecord.name, mode: 0o600)
    }

    /// A rank's view of a finished stage: the file recorded, still the file that was verified.
    static func open(_ stage: StagedContainer, readOnly: Bool) throws -> ImageMount {
        let record = try MountedFileRecord.read(stage.directory + "/" + MountedFileRecord.name)
        let file = record.path.hasPrefix("/") ? record.path : stage.directory + "/" + record.path
        try record.check(file)
        return ImageMount(file: file, stage: stage, readOnly: readOnly)
    }

    /// What the keeper sets up, before any bind: the image at its mount point and ROOT over it.
    func keeperIsolation() -> Isolation {
        var isolation = Isolation(root: stage.root, binds: [], workingDirectory: "/")
        isolation.image = Isolation.Image(file: file, mountPoint: mountPoint)
        isolation.writableLayer = stage.directory + "/.layer"
        isolation.readOnlyRoot = readOnly
        return isolation
    }

    /// The step's ranks on the node that run this file with the same volumes share one keeper, one FUSE mount.
    /// (Keyed before planning, so by what the binds are made from: ranks that bind other volumes get their own.)
    func sharing(_ rank: RankContext, area: StageArea, options: RunOptions) throws -> NamespaceSharing {
        var text = "mount\n" + rank.stepKey + "\n" + file + "\n" + stage.directory + "\n\(getuid()):\(getgid()) \(readOnly)\n"
        for volume in options.volumes { text += "\(volume.hostPath)\t\(volume.containerPath)\t\(volume.readOnly)\n" }
        text += "\(options.bindHome) \(options.hostAuth) \(options.noSysDirs) \(options.nvidia) \(options.cdiDevices.map(\.description))\n"
        let key = String((try Digest.sha256(Data(text.utf8)).split(separator: ":").last ?? "").prefix(20))
        return NamespaceSharing(directory: area.locksDir, key: key)
    }

    /// What the rank plans from: the image as the keeper `pid` serves it.
    func view(keeper pid: pid_t) -> String { "/proc/\(pid)/root" + mountPoint }

    /// "writes: …" for `--dry-run`.
    static func writes(readOnly: Bool) -> String {
        if readOnly { return "writes: none (--write=none): a read-only root with tmpfs at /tmp, /var/tmp and /run" }
        if let kernel = kernelWithoutUserOverlay() {
            return "writes: none: Linux \(kernel) has no overlayfs in user namespaces (5.11 and later): a read-only root "
                + "with tmpfs at /tmp, /var/tmp and /run"
        }
        return "writes: to a layer in memory of the step's namespace on this node (overlayfs), gone with the step"
    }
}

/// The kernel's release when it is older than 5.11, the first to mount overlayfs in a user namespace.
func kernelWithoutUserOverlay(release: String = HostName.kernelRelease) -> String? {
    let numbers = release.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) ?? 0 }
    guard numbers.count == 2 else { return nil }
    return numbers[0] < 5 || (numbers[0] == 5 && numbers[1] < 11) ? release : nil
}

/// Which file a mounted stage runs from, with what identifies it (device, inode, size, change times) as it was
/// when the stager verified it: a rank mounts it only while it is still that file, and still one others cannot
/// write (PublishedFileTrust), so a file replaced or opened to others after the check is refused in one line.
/// A file inside the stage (`--stage=copy`) is recorded by its name there.
struct MountedFileRecord: Equatable {
    static let name = "image.source"
    let path: String
    let identity: String

    init(_ file: String, in stage: String) throws {
        path = file.hasPrefix(stage + "/") ? String(file.dropFirst(stage.count + 1)) : file
        identity = try Self.identity(file)
    }

    private init(path: String, identity: String) { self.path = path; self.identity = identity }

    var text: String { path + "\n" + identity + "\n" }

    static func read(_ record: String) throws -> MountedFileRecord {
        let lines = try FileSystem.readString(record).split(separator: "\n").map(String.init)
        guard lines.count == 2, !lines[0].isEmpty, lines[0].hasPrefix("/") || !lines[0].contains("/") else { throw UdockerError(.invalidInput, "\(record) is not a mounted stage's record") }
        return MountedFileRecord(path: lines[0], identity: lines[1])
    }

    func check(_ file: String) throws {
        try PublishedFileTrust.check(file)
        let now = try Self.identity(file)
        guard now == identity else {
            throw UdockerError(.invalidInput, "\(file) changed since this node verified it (\(now), not \(identity)): refused "
                               + "(`udocker-launch clean` forgets the node's stages)")
        }
    }

    static func identity(_ path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { throw UdockerError.posix("cannot stat", path) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw UdockerError(.invalidInput, "\(path) is not a regular file") }
        return "dev \(st.st_dev) ino \(st.st_ino) size \(st.st_size) mtime \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) "
            + "ctime \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
    }
}
