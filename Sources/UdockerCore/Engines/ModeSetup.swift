import Foundation

/// What `setup` does to a container, and what `run` does lazily before each run: bring the container's files to
/// what its execution mode needs (F modes: links, loader, ELF patches; other modes: none of those), under
/// the container's lock so that many ranks starting at once do it once. Also --purge and --fixperm.
public struct ModeSetup: Sendable {
    public var tools: HostTools

    public init(tools: HostTools) { self.tools = tools }

    func fakechroot(containerDir: String, root: String) -> FakechrootSetup {
        FakechrootSetup(containerDir: containerDir, root: root, patchelf: tools.patchelf)
    }

    /// `setup --execmode=MODE [--force]`.
    public func apply(_ mode: ExecMode, containerDir: String, root: String, force: Bool, lock: String) throws {
        try FileLock.withLock(lock) {
            let setup = fakechroot(containerDir: containerDir, root: root)
            if mode.family == .fakechroot {
                try checkFakechroot(setup, refresh: force)
            }
            try setup.apply(mode, force: force)
            try FileSystem.atomicWrite(root, to: containerDir + "/" + ContainerFile.rootPath.rawValue)
        }
    }

    /// Before a run: whatever `setup` would have done for this mode and was not done yet; F3/F4 check the
    /// container has not moved, F4 patches what changed since.
    public func prepareRun(_ run: ContainerRun, lock: String) throws {
        let setup = fakechroot(containerDir: run.containerDir, root: run.root)
        let needsWork = run.mode.family == .fakechroot
            || FileSystem.exists(run.containerDir + "/" + ContainerFile.ldSoOrig.rawValue)
            || FileSystem.exists(run.containerDir + "/" + ContainerFile.patchList.rawValue)
        guard needsWork else { return }
        try FileSystem.makeDirectories(run.containerDir)
        try FileLock.withLock(lock) {
            if run.mode.family == .fakechroot {
                let state = try checkFakechroot(setup, refresh: false)
                try setup.checkNotMoved(run.mode)
                try setup.apply(run.mode, force: false)
                try setup.refreshPatches(run.mode, state: state)
            } else {
                try setup.apply(run.mode, force: false)
            }
        }
    }

    @discardableResult
    func checkFakechroot(_ setup: FakechrootSetup, refresh: Bool) throws -> FakechrootState {
        let state = try setup.state(refresh: refresh)
        guard let library = tools.fakechrootLibrary(glibcLevel: setup.glibcLevel(state)) else {
            throw UdockerError(.notFound, "libfakechroot.so not found (install fakechroot or set UDOCKER_FAKECHROOT_SO)")
        }
        try setup.checkLibrary(library, state: state)
        return state
    }

    /// `setup --purge`: undoes what udocker added to ROOT (patches, converted links, added accounts, the
    /// /.udocker mount points of R2/R3) and removes its bookkeeping; the container is left in mode P1's state.
    public func purge(containerDir: String, root: String, lock: String) throws {
        try FileLock.withLock(lock) {
            let setup = fakechroot(containerDir: containerDir, root: root)
            try setup.apply(.P1, force: false)
            try setup.restoreLinks()
            if let passwd = try? FileSystem.readString(root + "/etc/passwd"), let group = try? FileSystem.readString(root + "/etc/group") {
                let cleaned = AccountFiles.removingAdded(passwd: passwd, group: group)
                if cleaned.passwd != passwd { try FileSystem.atomicWrite(cleaned.passwd, to: root + "/etc/passwd") }
                if cleaned.group != group { try FileSystem.atomicWrite(cleaned.group, to: root + "/etc/group") }
            }
            try FileSystem.removeTree(root + RuncEngine.prootDir)
            let added: [ContainerFile] = [.rootPath, .ldSoPath, .ldSoOrig, .ldLibDirs, .patchTime, .patchPath, .patchList,
                                          .linksConverted, .passwd, .group, .autoMode, .execMode]
            for file in added { try FileSystem.removeFile(containerDir + "/" + file.rawValue) }
        }
    }

    /// `setup --fixperm`: every file and directory the user owns becomes owner-writable (and directories
    /// owner-searchable) again, as some layers ship them read-only.
    public static func fixPermissions(root: String) {
        let uid = getuid()
        func visit(_ path: String) {
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT != S_IFLNK else { return }
            let isDir = st.st_mode & S_IFMT == S_IFDIR
            if st.st_uid == uid {
                let wanted = st.st_mode | S_IRUSR | S_IWUSR | (isDir ? S_IXUSR : 0)
                if wanted != st.st_mode { chmod(path, wanted & 0o7777) }
            }
            guard isDir, let names = try? FileSystem.list(path) else { return }
            for name in names { visit(path + "/" + name) }
        }
        visit(root)
    }
}
