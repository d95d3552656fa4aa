/// What an engine decided: the program to execve with its argv and environment, plus the preparation the
/// exec path carries out first. Engines only build plans; `Executor` is the one place that runs them.
public struct ExecPlan: Sendable, Equatable {
    /// Absolute path of the program to execve.
    public var executable: String
    /// argv, argv[0] included.
    public var arguments: [String]
    /// The complete environment of the new process (nothing is inherited implicitly).
    public var environment: [String]
    /// Host directory to chdir to before exec (engines that chdir themselves leave it nil).
    public var hostWorkingDirectory: String?
    /// Files to write and directories to make before exec (runc spec, passwd copies, …).
    public var preparation: [PreparationStep]
    /// For U1: the namespaces and mounts the exec path sets up in-process before execve.
    public var isolation: Isolation?

    public init(executable: String, arguments: [String], environment: [String],
                hostWorkingDirectory: String? = nil, preparation: [PreparationStep] = [], isolation: Isolation? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.hostWorkingDirectory = hostWorkingDirectory
        self.preparation = preparation
        self.isolation = isolation
    }
}

public enum PreparationStep: Sendable, Equatable {
    case makeDirectory(path: String)
    /// Written atomically, and only when the file's contents differ (concurrent ranks write the same bytes).
    case writeFile(path: String, contents: String, mode: UInt32)
    /// A symlink at `path` pointing to `target`, made when nothing exists at `path` yet; with `replaceLink`, a
    /// link already there that points elsewhere is replaced (udocker's own links, which follow the host).
    case symlink(target: String, path: String, replaceLink: Bool = false)
    /// F modes' volumes at another container path: links in ROOT, reconciled with those an earlier run made.
    case volumeLinks(VolumeLinks)
    /// Restricts the process (and so the command) to these CPUs (--cpuset-cpus).
    case cpuAffinity([Int])
    /// Opens `path` and holds a shared lock on it across exec, until the command exits (a stage in use).
    case holdSharedLock(path: String)
    /// Removes `directory` once the command and every other holder of a shared lock on `lock` have exited
    /// (launcher --cleanup), by a detached process that waits for the exclusive lock.
    case removeWhenUnlocked(directory: String, lock: String)
}

/// An unprivileged user + mount namespace set-up, performed by the exec path (see U1).
public struct Isolation: Sendable, Equatable {
    public struct Bind: Sendable, Equatable {
        public var source: String
        public var target: String   // path inside the new root
        public var readOnly: Bool
        public init(source: String, target: String, readOnly: Bool = false) {
            self.source = source; self.target = target; self.readOnly = readOnly
        }
    }
    public var root: String
    public var binds: [Bind]
    public var workingDirectory: String
    /// uid/gid inside the namespace; nil keeps the caller's own ids mapped to themselves.
    public var uid: UInt32?
    public var gid: UInt32?
    /// Join the namespace the node's ranks of one step share, instead of making one (the launcher sets it).
    public var sharing: NamespaceSharing?
    /// A directory outside ROOT on which the namespace mounts the tmpfs of a writable layer over ROOT, which
    /// itself stays unchanged (a launcher stage: WritableLayer). nil writes to ROOT itself.
    public var writableLayer: String?
    /// Symbolic links (CDI create-symlinks hooks) made inside the namespace after the binds, in its writable
    /// layer: a launcher stage's frozen ROOT cannot take them. `hostPath` is the link's target.
    public var links: [VolumeLinks.Link] = []
    /// A SquashFS image the shared namespace's keeper mounts read-only with FUSE (SquashMount) at `mountPoint`,
    /// an empty directory outside ROOT; ROOT is then the image through the writable layer, or the image itself,
    /// read-only, without one. It needs `sharing`. The keeper makes the namespace before the ranks have planned
    /// (they plan by reading the image through it: `SharedNamespace.attach`), so the binds are mounted by the
    /// first rank that joins, not by the keeper.
    public struct Image: Sendable, Equatable {
        public var file: String
        public var mountPoint: String
        public init(file: String, mountPoint: String) { self.file = file; self.mountPoint = mountPoint }
    }
    public var image: Image?
    /// ROOT read-only once the binds are in, with a tmpfs of the namespace's own at /tmp, /var/tmp and /run where
    /// the image has them (`udocker-launch --write=none`; a stage or image gets the same where the kernel has no
    /// overlayfs for user namespaces). The writable layer, if any, then holds only the binds' mount points.
    public var readOnlyRoot = false

    public init(root: String, binds: [Bind], workingDirectory: String, uid: UInt32? = nil, gid: UInt32? = nil) {
        self.root = root; self.binds = binds; self.workingDirectory = workingDirectory; self.uid = uid; self.gid = gid
    }
}
