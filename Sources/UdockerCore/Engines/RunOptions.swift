/// Everything `run` was asked for, independent of the engine that will carry it out.
public struct RunOptions: Sendable, Equatable {
    public struct Volume: Sendable, Equatable {
        public var hostPath: String
        public var containerPath: String
        /// Mounted read-only where the mode can (U1, R, S modes); only udocker's own binds are.
        public var readOnly: Bool
        public init(hostPath: String, containerPath: String, readOnly: Bool = false) {
            self.hostPath = hostPath
            self.containerPath = containerPath
            self.readOnly = readOnly
        }

        /// `-v HOST[:CONTAINER]`; both must be absolute.
        public static func parse(_ spec: String) throws -> Volume {
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard (1...3).contains(parts.count), parts[0].hasPrefix("/") else {
                throw UdockerError(.invalidInput, "invalid volume, host path must be absolute: \(spec)")
            }
            let target = parts.count > 1 && !parts[1].isEmpty ? parts[1] : parts[0]
            guard target.hasPrefix("/") else { throw UdockerError(.invalidInput, "invalid volume, container path must be absolute: \(spec)") }
            return Volume(hostPath: Paths.trimTrailingSlashes(parts[0]), containerPath: Paths.trimTrailingSlashes(target))
        }
    }

    /// The command; empty means the image's Entrypoint/Cmd.
    public var command: [String] = []
    public var entrypoint: String? = nil
    public var environment: [String] = []         // -e NAME=VALUE or NAME
    public var environmentFiles: [String] = []    // --env-file
    public var volumes: [Volume] = []
    public var workingDirectory: String? = nil
    public var user: String? = nil
    public var hostname: String? = nil
    public var noSysDirs = false
    public var noMeta = false
    public var hostEnv = false
    public var hostAuth = false
    public var containerAuth = false
    public var bindHome = false
    public var noVolumes: [String] = []
    public var cpuSet: String? = nil
    public var kernel: String? = nil
    /// --device=/dev/X[:/dev/Y] (udocker 1.3's meaning: R modes bind the host device).
    public var devices: [String] = []
    /// --device=VENDOR/CLASS=NAME: CDI devices, whose spec's edits every mode applies (see CDIApplication).
    public var cdiDevices: [CDIDeviceName] = []
    /// CDI devices whose files are bound and linked but whose env is not applied: the other GPUs of a step whose
    /// ranks share one U1 namespace (set by the launcher, so every rank of the step binds the same).
    public var cdiStepDevices: [CDIDeviceName] = []
    /// --cdi-spec-dir: where CDI specs are read (empty: UDOCKER_CDI_SPEC_DIRS, else /etc/cdi and /var/run/cdi).
    public var cdiSpecDirs: [String] = []
    public var ports: [String] = []
    public var publishAll = false
    public var dri = false
    /// --nvidia: bind the host's NVIDIA driver for this run (see NvidiaBinding).
    public var nvidia = false
    /// --mpi: which MPI the command uses; nil: the container's with the process manager passed in when one
    /// started udocker, else none (udocker 1.3's clean environment).
    public var mpi: MPIMode? = nil
    public var noBanner = false
    /// --location=DIR: run a root file system that is not in the repository.
    public var location: String? = nil
    /// --platform: the os/arch[/variant] the container is expected to be (checked, warned on mismatch).
    public var platform: String? = nil

    public init() {}
}
