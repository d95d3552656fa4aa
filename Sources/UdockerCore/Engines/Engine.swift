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
    /// Absolute path of the container's root file system on the host.
    public var root: String
    /// The container's bookkeeping directory (containers/<id>), for engines that keep state there.
    public var containerDir: String
    public var mode: ExecMode
    /// argv inside the container.
    public var command: [String]
    /// KEY=VALUE, in the order they should be applied (later wins).
    public var environment: [String]
    /// Working directory inside the container.
    public var workingDirectory: String
    public var user: User
    /// Host paths bound into the container: the sysdirs (unless --nosysdirs) and -v volumes.
    public var binds: [RunOptions.Volume]
    public var options: RunOptions
}

/// One engine family. `plan` must be pure: same input, same plan, no side effects.
public protocol Engine: Sendable {
    func plan(_ run: ContainerRun) throws -> ExecPlan
}
