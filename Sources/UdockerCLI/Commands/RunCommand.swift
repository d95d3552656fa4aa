import ArgumentParser
import UdockerCore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", _superCommandName: "udocker",
        abstract: "Run a command in a container (an image name creates the container first).")

    @Flag(name: .customLong("rm"), help: "Delete the container after it ran (an image run creates a temporary one).") var remove = false
    @OptionGroup var flags: ContainerRunFlags
    @Option(name: .customLong("name"), help: "Name for the container created from an image.") var name: String?
    @Option(name: .customLong("hostname"), help: .hidden) var hostname: String?
    @Option(name: .customLong("kernel"), help: "Kernel release the container sees (P modes, R2/R3).") var kernel: String?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs to run on, e.g. 0-3,8.") var cpuset: String?
    @Option(name: .customLong("location"), help: "Run the root file system in DIR (not a stored container).") var location: String?
    @Option(name: .customLong("platform"), help: "Expected os/arch[/variant], pulled when the image is missing; a different container is warned about.") var platform: String?
    @Option(name: [.customShort("p"), .customLong("publish")], help: "Map HOSTPORT:CONTPORT (P modes with udocker's proot).") var publish: [String] = []
    @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Map all exposed ports (P modes with udocker's proot).") var publishAll = false
    @Option(name: .customLong("execmode"), help: .hidden) var execmode: String?
    @Flag(name: .customLong("dri"), help: "Bind the host's graphics (DRI) directories.") var dri = false
    @Flag(name: .customLong("nvidia"), help: "Bind the host's NVIDIA driver (libraries, utilities, devices) for this run.") var nvidia = false
    @Flag(name: .customLong("nobanner"), help: "Print no banner.") var noBanner = false
    @Option(name: .customLong("mpi"), help: "MPI: host (bind the host's, checked), container (its own, with the process manager passed in: the default under srun/mpirun), none (udocker 1.3's clean environment).")
    var mpi: String?
    @Option(name: .customLong("pull"), help: "Pull the image: missing (when not in the repository), never, always.")
    var pull: PullPolicy = .missing
    @OptionGroup var registryOptions: RegistryOptions
    @Argument(help: "Container id or name, or image.") var container: String?
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func validate() throws {
        if !request.namesWhatToRun { throw ValidationError("a container, an image or --location=DIR is required") }
    }

    /// This line as plain values: what RunRequest runs.
    var request: RunRequest {
        RunRequest(flags: flags.values, remove: remove, name: name, hostname: hostname, kernel: kernel, cpuset: cpuset,
                   location: location, platform: platform, publish: publish, publishAll: publishAll,
                   execmode: execmode, dri: dri, nvidia: nvidia, noBanner: noBanner, mpi: mpi, pull: pull,
                   registry: registryOptions.registry, index: registryOptions.index, httpProxy: registryOptions.httpProxy,
                   container: container, command: command)
    }

    func run() throws { try request.run() }
}
