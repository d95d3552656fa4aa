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

    /// The namespaces with ROOT ready and the binds mounted, without changing root: what a rank does alone, and
    /// what the keeper of a namespace shared by a node's ranks does once for all of them (see SharedNamespace).
    /// A mounted image's binds come later, from the first rank to join (`mountBinds`).
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
        let sealRoot = try prepareRoot(isolation)
        if isolation.image == nil { try mountBinds(isolation, sealRoot: sealRoot) }
    }

    /// ROOT as the run sees it, before the binds: a launcher stage (read-only to its jobs) or a mounted image gets
    /// a writable layer of this namespace's own over it, or, where the kernel has no overlayfs for user
    /// namespaces (before Linux 5.11), is bound read-only. True when ROOT is to be sealed read-only once the binds
    /// are in: then, or with `readOnlyRoot` (the layer then only holds the binds' mount points).
    private static func prepareRoot(_ isolation: Isolation) throws -> Bool {
        var lower = isolation.root
        if let image = isolation.image {
            try SquashMount.serve(image.file, at: image.mountPoint)
            lower = image.mountPoint
        }
        if let layer = isolation.writableLayer, try WritableLayer.mount(lower, at: isolation.root, in: layer) {
            return isolation.readOnlyRoot
        }
        guard isolation.writableLayer != nil || isolation.readOnlyRoot || isolation.image != nil else { return false }
        // A mount of its own at ROOT, so that it can be made read-only without touching the tree below.
        guard mount(lower, isolation.root, nil, UInt(MS_BIND | MS_REC), nil) == 0 else {
            throw UdockerError.posix("U1: cannot bind \(lower) at", isolation.root)
        }
        return true
    }

    /// Whether ROOT, in the namespace this process is in, has a writable layer (an overlay mounted on it).
    static func hasWritableLayer(_ root: String) -> Bool {
        LinuxCalls.fileSystemType(root) == WritableLayer.overlayType
    }

    /// The binds (parents before children, so /dev/shm lands on /dev), the links, and with `sealRoot` a tmpfs
    /// at /tmp, /var/tmp and /run (first: binds the image has no mount point for, /run/munge say, are made in
    /// them) and ROOT made read-only last.
    static func mountBinds(_ isolation: Isolation, sealRoot: Bool) throws {
        let paths = ContainerPaths(root: isolation.root)
        if sealRoot { try mountTemporaryDirectories(isolation) }
        for bind in isolation.binds.sorted(by: { $0.target.split(separator: "/").count < $1.target.split(separator: "/").count }) {
            guard let target = paths.hostPath(bind.target), target.hasPrefix(isolation.root) else {
                throw UdockerError(.invalidInput, "U1: cannot bind \(bind.source) at \(bind.target)")
            }
            try makeMountPoint(target, like: bind)
            guard mount(bind.source, target, nil, UInt(MS_BIND | MS_REC), nil) == 0 else {
                throw UdockerError.posix("U1: cannot bind \(bind.source) at", bind.target)
            }
            if bind.readOnly { try remountReadOnly(target) }
        }
        for link in isolation.links { try makeLink(link, paths: paths, root: isolation.root) }
        if sealRoot { try remountReadOnly(isolation.root) }
    }

    private static func mountTemporaryDirectories(_ isolation: Isolation) throws {
        for directory in temporaryDirectories where !isolation.binds.contains(where: { $0.target == directory })
            && FileSystem.isDirectory(isolation.root + directory) {
            guard WritableLayer.mountFileSystem("tmpfs", at: isolation.root + directory, flags: UInt(MS_NOSUID | MS_NODEV),
                                                options: directory == "/run" ? "mode=0755" : "mode=1777") else {
                throw UdockerError.posix("U1: cannot mount a tmpfs on", isolation.root + directory)
            }
        }
    }

    /// Where a read-only ROOT gets a tmpfs of its own.
    static let temporaryDirectories = ["/tmp", "/var/tmp", "/run"]

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

    private static func makeMountPoint(_ target: String, like bind: Isolation.Bind) throws {
        if FileSystem.exists(target) { return }
        do {
            if FileSystem.isDirectoryFollowingLinks(bind.source) {
                try FileSystem.makeDirectories(target)
            } else {
                try FileSystem.makeDirectories(Paths.dirname(target))
                let fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw UdockerError.posix("U1: cannot create mount point", target) }
                close(fd)
            }
        } catch where errno == EROFS {
            throw UdockerError(.unsupported, "U1: cannot bind \(bind.source): the read-only root has no \(bind.target) to mount it on "
                               + "(this kernel has no overlayfs in user namespaces: bind it where the image has a directory or file, or under "
                               + "/tmp, /var/tmp or /run; for the host's MPI, --mpi=container)")
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
