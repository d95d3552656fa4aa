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
        let glibcLevel = setup.glibcLevel(state)
        guard let library = tools.fakechrootLibrary(glibcLevel: glibcLevel) else {
            throw UdockerError(.notFound, "libfakechroot.so not found (install fakechroot or set UDOCKER_FAKECHROOT_SO)")
        }
        try setup.checkLibrary(library, state: state, glibcLevel: glibcLevel)
        return state
    }

    /// `setup --purge`: undoes what udocker added to ROOT (patches, converted links, added accounts, the
    /// /.udocker mount points of R2/R3) and removes its bookkeeping; the container is left in mode P1's state.
    public func purge(containerDir: String, root: String, lock: String) throws {
        try FileLock.withLock(lock) {
            let setup = fakechroot(containerDir: containerDir, root: root)
            try setup.apply(.P1, force: false)
            try setup.restoreLinks()
            // The files the container's /etc/passwd and /etc/group lead to, inside ROOT: a link stays a link.
            let paths = ContainerPaths(root: root)
            if let passwdFile = paths.hostPath("/etc/passwd"), let groupFile = paths.hostPath("/etc/group"),
               FileSystem.isFile(passwdFile), FileSystem.isFile(groupFile),
               let passwd = try? FileSystem.readString(passwdFile), let group = try? FileSystem.readString(groupFile) {
                let cleaned = AccountFiles.removingAdded(passwd: passwd, group: group)
                if cleaned.passwd != passwd { try FileSystem.atomicWrite(cleaned.passwd, to: passwdFile) }
                if cleaned.group != group { try FileSystem.atomicWrite(cleaned.group, to: groupFile) }
            }
            try FileSystem.removeTree(root + RuncEngine.prootDir)
            let added: [ContainerFile] = [.rootPath, .ldSoPath, .ldSoOrig, .ldLibDirs, .patchTime, .patchPath, .patchList,
                                          .linksConverted, .passwd, .group, .autoMode, .execMode]
            for file in added { try FileSystem.removeFile(containerDir + "/" + file.rawValue) }
        }
    }

    /// `setup --fixperm`: every file and directory the user owns becomes owner-writable (and directories
    /// owner-searchable) again, as some layers ship them read-only. A directory is fixed before the walk enters it.
    public static func fixPermissions(root: String) {
        let uid = getuid()
        func fix(_ st: stat, _ change: (mode_t) -> Int32) {
            guard st.st_uid == uid, !DescriptorCalls.isSymlink(st) else { return }
            let wanted = st.st_mode | S_IRUSR | S_IWUSR | (DescriptorCalls.isDirectory(st) ? S_IXUSR : 0)
            if wanted != st.st_mode { _ = change(wanted & 0o7777) }
        }
        var st = stat()
        guard lstat(root, &st) == 0 else { return }
        fix(st) { chmod(root, $0) }
        try? TreeWalker(root: root).walk { item in
            // The name was just seen not to be a link: fchmodat cannot be led elsewhere by it.
            fix(item.status) { fchmodat(item.directory, item.name, $0, 0) }
        }
    }
}
