import Foundation

/// A finished stage is read-only to the jobs that run from it: `rm -f /usr/bin/perl` in one job must not remove
/// perl for every later job on the node. Once the stager has set the stage up for its mode, every directory and
/// file in ROOT loses its write bits, so no command running as the user can change the tree by accident.
///
/// Kept writable: the container's temporary directories (/tmp, /var/tmp, as the image made them: the node's
/// jobs share them as they share the host's /tmp) and udocker's own directory (/.udocker: the links F modes make
/// to the host's MPI and driver at each run). Removal still works (`clean`, `--cleanup`): `FileSystem.removeTree`
/// gives each directory back its owner's write bit before emptying it.
///
/// Mode bits do not hold a process with capabilities over the user's files: U1's uid 0 of a user namespace has
/// them, so U1 runs a stage through a per-job writable layer (`Isolation.writableLayer`). R modes are root of a
/// user namespace too, but runc's spec drops CAP_DAC_OVERRIDE and CAP_FOWNER (RuncSpec), so the bits hold there.
enum ReadOnlyStage {
    /// The stager's last step for a stage set up for `mode`, before `stage.done`.
    static func finish(directory: String, root: String, mode: ExecMode) throws {
        // A stored container's links from `udocker run` (F modes) came with its tree: the stage gets its own
        // directories back, and keeps no record a later run would act on.
        try VolumeLinks(root: root, record: directory + "/" + ContainerFile.volumeLinks.rawValue, links: []).apply()
        if mode.family == .fakechroot { try addAccounts(root: root, user: .current()) }
        try freeze(root: root)
    }

    /// Container paths whose subtrees stay as they are.
    static let writable: Set<String> = ["/tmp", "/var/tmp", RuncEngine.prootDir]

    static func freeze(root: String) throws {
        if FileSystem.kind(root + RuncEngine.prootDir) == .missing {
            guard mkdir(root + RuncEngine.prootDir, 0o755) == 0 || errno == EEXIST else {
                throw UdockerError.posix("cannot create", root + RuncEngine.prootDir)
            }
        }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot open", root) }
        defer { close(fd) }
        try freezeEntries(of: fd, at: "")
        guard fchmod(fd, try mode(of: fd) & ~0o222) == 0 else { throw UdockerError.posix("cannot make read-only", root) }
    }

    /// Everything below the directory `directory` (container path `path`, "" for ROOT), links left alone.
    private static func freezeEntries(of directory: Int32, at path: String) throws {
        for name in try FileSystem.entries(ofDirectory: directory) {
            let containerPath = path + "/" + String(nulTerminated: name)
            guard !writable.contains(containerPath) else { continue }
            var st = stat()
            guard fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw UdockerError.posix("cannot stat", containerPath) }
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                continue
            case S_IFDIR:
                let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                // A directory the image made unreadable to its owner has nothing the user could change anyway.
                guard child >= 0 else { if errno == EACCES { break }; throw UdockerError.posix("cannot open", containerPath) }
                defer { close(child) }
                try freezeEntries(of: child, at: containerPath)
            default:
                break
            }
            if st.st_mode & 0o222 != 0, fchmodat(directory, name, st.st_mode & 0o7777 & ~0o222, 0) != 0 {
                throw UdockerError.posix("cannot make read-only", containerPath)
            }
        }
    }

    private static func mode(of fd: Int32) throws -> mode_t {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw UdockerError.posix("cannot stat", "ROOT") }
        return st.st_mode & 0o7777
    }

    /// F modes add the user to the container's own /etc/passwd and /etc/group at their first run; on a stage that
    /// must happen before it is frozen. The files are those a run as the user would write, so no run rewrites them.
    static func addAccounts(root: String, user: HostUser) throws {
        let paths = ContainerPaths(root: root)
        let passwdPath = paths.hostPath("/etc/passwd") ?? root + "/etc/passwd"
        let groupPath = paths.hostPath("/etc/group") ?? root + "/etc/group"
        guard passwdPath.hasPrefix(root + "/"), groupPath.hasPrefix(root + "/") else { return }
        let passwd = (try? FileSystem.readString(passwdPath)) ?? "", group = (try? FileSystem.readString(groupPath)) ?? ""
        let invoker = ContainerRun.User(name: user.name, uid: user.uid, gid: user.gid, home: user.home, shell: "/bin/sh")
        let files = AccountFiles.adding([invoker], passwd: passwd, group: group)
        if files.passwd != passwd { try FileSystem.atomicWrite(files.passwd, to: passwdPath, mode: 0o644) }
        if files.group != group { try FileSystem.atomicWrite(files.group, to: groupPath, mode: 0o644) }
    }
}
