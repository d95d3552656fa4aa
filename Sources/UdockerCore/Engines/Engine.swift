/// A container ready to start: the run options resolved against the image metadata and the host.
/// Engines read this and build an `ExecPlan`; they never touch the repository or the network.
public struct ContainerRun: Sendable, Equatable {
    public struct User: Sendable, Equatable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
        public var home: String
        public var shell: String
        public init(name: String, uid: UInt32, gid: UInt32, home: String, shell: String = "/bin/sh") {
            self.name = name; self.uid = uid; self.gid = gid; self.home = home; self.shell = shell
        }
    }

    public var id: String
    public var names: [String]
    /// Absolute, symlink-free path of the container's root file system on the host.
    public var root: String
    /// The container's bookkeeping directory (containers/<id>, or a private state directory for --location).
    public var containerDir: String
    public var mode: ExecMode
    /// argv inside the container.
    public var command: [String]
    /// Where command[0] was found (nil only when a plan is built without looking, as unit tests may).
    public var executable: ResolvedCommand?
    /// KEY=VALUE, in the order they should be applied (later wins).
    public var environment: [String]
    /// Working directory inside the container.
    public var workingDirectory: String
    /// The same directory on the host (under ROOT or inside a volume), for engines that chdir before exec.
    public var hostWorkingDirectory: String
    /// The identity the command runs with inside the container.
    public var user: User
    /// The person who runs udocker.
    public var hostUser: HostUser
    /// Host paths bound into the container: the sysdirs (unless --nosysdirs), --dri, --bindhome and -v volumes.
    public var binds: [RunOptions.Volume]
    /// passwd/group to show inside the container, when they differ from the container's own.
    public var accounts: AccountFiles?
    /// Descriptors 3 ..< 3+N the command inherits (runc must be told to pass them on).
    public var inheritedDescriptors: Int
    public var options: RunOptions
    /// Which MPI the command uses and why (`--mpi`); its binds are among `binds` already.
    public var mpi: MPIDecision = .without(.none)
    /// What the run's CDI devices ask for beyond `binds` and `environment` (links, runtime hooks).
    public var cdi: CDIApplication? = nil

    public init(id: String, names: [String] = [], root: String, containerDir: String, mode: ExecMode,
                command: [String], executable: ResolvedCommand? = nil, environment: [String] = [],
                workingDirectory: String = "/", hostWorkingDirectory: String? = nil, user: User, hostUser: HostUser, binds: [RunOptions.Volume] = [],
                accounts: AccountFiles? = nil, inheritedDescriptors: Int = 0, options: RunOptions = RunOptions()) {
        self.id = id; self.names = names; self.root = root; self.containerDir = containerDir; self.mode = mode
        self.command = command; self.executable = executable; self.environment = environment
        self.workingDirectory = workingDirectory
        self.hostWorkingDirectory = hostWorkingDirectory ?? root + (workingDirectory == "/" ? "" : workingDirectory)
        self.user = user; self.hostUser = hostUser; self.binds = binds
        self.accounts = accounts; self.inheritedDescriptors = inheritedDescriptors; self.options = options
    }

    /// The container path a host path is bound at, if any (exact match).
    public func isBound(containerPath: String) -> Bool { binds.contains { $0.containerPath == containerPath } }
}

/// One engine family. `plan` must be pure: same input, same plan, no side effects.
public protocol Engine: Sendable {
    func plan(_ run: ContainerRun) throws -> ExecPlan
}
