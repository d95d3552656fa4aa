import Foundation

/// U1's in-process set-up, done by the exec path just before execve: a new user and mount namespace in which
/// the caller keeps their own uid and gid (mapped to themselves), the run's binds mounted into ROOT, and a
/// change of root. The pid, network and IPC namespaces stay the host's.
///
/// The kernel refuses CLONE_NEWUSER to a multi-threaded process; udocker has started no threads when `run`
/// gets here, and `enter` checks that rather than failing obscurely.
enum UserNamespace {
    static func enter(_ isolation: Isolation) throws {
        // This process execs next, which would end the FUSE server's thread under the mount.
        guard isolation.image == nil else {
            throw UdockerError(.internalError, "U1: a mounted SquashFS image needs a namespace shared through its keeper")
        }
        try create(isolation)
        try enterRoot(isolation)
    }

    /// The namespaces with the binds mounted, without changing root: what a rank does alone, and what the keeper
    /// of a namespace shared by a node's ranks does once for all of them (see SharedNamespace).
    static func create(_ isolation: Isolation) throws {
        let uid = getuid(), gid = getgid()
        try requireSingleThreaded("create a user namespace")
        guard LinuxCalls.unshare(LinuxCalls.cloneNewUser | LinuxCalls.cloneNewNamespace) == 0 else {
            let code = errno
            throw UdockerError(.unsupported, "U1: unprivileged user namespaces are not available on this host "
                               + "(unshare: \(String(cString: strerror(code)))); use P1, P2 or F1", cause: nil)
        }
        // setgroups must be denied before an unprivileged process may write gid_map.
        try write("deny", to: "/proc/self/setgroups")
        try write("\(isolation.uid ?? uid) \(uid) 1\n", to: "/proc/self/uid_map")
        try write("\(isolation.gid ?? gid) \(gid) 1\n", to: "/proc/self/gid_map")
        guard mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0 else { throw UdockerError.posix("U1: cannot make mounts private", "/") }
        if let image = isolation.image { try SquashMount.serve(image, at: isolation.root) }
        // A launcher stage is read-only to its jobs: a writable layer of this namespace's own over it, or, where
        // the kernel has no overlayfs for user namespaces, ROOT read-only with a /tmp of its own.
        var sealRoot = false
        if let layer = isolation.writableLayer, try !WritableLayer.mount(over: isolation.root, in: layer) {
            guard mount(isolation.root, isolation.root, nil, UInt(MS_BIND | MS_REC), nil) == 0 else {
                throw UdockerError.posix("U1: cannot bind", isolation.root)
            }
            sealRoot = true
        }

        let paths = ContainerPaths(root: isolation.root)
        // Parents before children (/dev before /dev/shm), so later binds land on top.
        for bind in isolation.binds.sorted(by: { $0.target.split(separator: "/").count < $1.target.split(separator: "/").count }) {
            guard let target = paths.hostPath(bind.target), target.hasPrefix(isolation.root) else {
                throw UdockerError(.invalidInput, "U1: cannot bind \(bind.source) at \(bind.target)")
            }
            try makeMountPoint(target, like: bind.source)
            guard mount(bind.source, target, nil, UInt(MS_BIND | MS_REC), nil) == 0 else {
                throw UdockerError.posix("U1: cannot bind \(bind.source) at", bind.target)
            }
            if bind.readOnly { try remountReadOnly(target) }
        }
        for link in isolation.links { try makeLink(link, paths: paths, root: isolation.root) }
        if sealRoot {
            if !isolation.binds.contains(where: { $0.target == "/tmp" }), FileSystem.isDirectory(isolation.root + "/tmp") {
                guard WritableLayer.mountFileSystem("tmpfs", at: isolation.root + "/tmp", flags: UInt(MS_NOSUID | MS_NODEV), options: "mode=1777") else {
                    throw UdockerError.posix("U1: cannot mount a tmpfs on", isolation.root + "/tmp")
                }
            }
            try remountReadOnly(isolation.root)
        }
    }

    static func enterRoot(_ isolation: Isolation) throws {
        guard chroot(isolation.root) == 0 else { throw UdockerError.posix("U1: cannot change root to", isolation.root) }
        guard chdir(isolation.workingDirectory) == 0 else {
            throw UdockerError.posix("U1: cannot change directory to", isolation.workingDirectory)
        }
        // The namespace's capabilities end here: execve of a program by a uid other than 0 leaves the
        // permitted and effective sets empty, and the ids are the caller's own.
    }

    /// The kernel refuses user namespace changes to a multi-threaded process; the error names the threads.
    static func requireSingleThreaded(_ action: String) throws {
        let tasks = (try? FileSystem.list("/proc/self/task")) ?? []
        guard tasks.count != 1 else { return }
        let names = tasks.map { ((try? FileSystem.readString("/proc/self/task/\($0)/comm")) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines) }
        throw UdockerError(.internalError, "U1: cannot \(action) from a multi-threaded process (threads: \(names.joined(separator: ", ")))")
    }

    private static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("U1: cannot open", path) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw UdockerError.posix("U1: cannot write", path) }
    }

    /// A directory for a directory, an empty file for anything else (a file can only be bound on a file).
    /// A link of this namespace's own; what the image has at that path itself is left as it is.
    private static func makeLink(_ link: VolumeLinks.Link, paths: ContainerPaths, root: String) throws {
        let parent = paths.hostPath(Paths.dirname(link.containerPath)) ?? root + Paths.dirname(link.containerPath)
        let path = parent + "/" + Paths.basename(link.containerPath)
        if FileSystem.isSymlink(path) { unlink(path) } else if FileSystem.exists(path) { return }
        try FileSystem.makeDirectories(parent)
        guard symlink(link.hostPath, path) == 0 else { throw UdockerError.posix("U1: cannot link \(link.hostPath) at", link.containerPath) }
    }

    private static func makeMountPoint(_ target: String, like source: String) throws {
        if FileSystem.exists(target) { return }
        if FileSystem.isDirectoryFollowingLinks(source) {
            try FileSystem.makeDirectories(target)
        } else {
            try FileSystem.makeDirectories(Paths.dirname(target))
            let fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw UdockerError.posix("U1: cannot create mount point", target) }
            close(fd)
        }
    }

    /// A read-only remount must keep the flags the kernel locked on the original mount (nosuid, nodev, …).
    private static func remountReadOnly(_ target: String) throws {
        var fs = statvfs()
        guard statvfs(target, &fs) == 0 else { throw UdockerError.posix("U1: cannot stat", target) }
        // statvfs's ST_* bits → mount's MS_* bits (equal except relatime).
        let flags = UInt(fs.f_flag)
        var locked = flags & UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
        if flags & 4096 != 0 { locked |= UInt(MS_RELATIME) }
        guard mount(nil, target, nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY) | locked, nil) == 0 else {
            throw UdockerError.posix("U1: cannot make read-only", target)
        }
    }
}
