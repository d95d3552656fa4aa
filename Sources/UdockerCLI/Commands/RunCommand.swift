import ArgumentParser
import Foundation
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
    @Option(name: .customLong("device"), help: "Pass a host device, /dev/X[:/dev/Y] (R modes; repeatable).") var devices: [String] = []
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
        if container == nil && location == nil { throw ValidationError("a container, an image or --location=DIR is required") }
    }

    func options() throws -> RunOptions {
        var options = try flags.options()
        var words = command
        // With --location there is no container argument: the first word is the command.
        if location != nil, let first = container { words.insert(first, at: 0) }
        options.command = words.first == "--" ? Array(words.dropFirst()) : words
        options.hostname = hostname
        // Checked here, against the CPUs hwloc finds, so a typo is named before anything starts.
        options.cpuSet = try cpuset.map { CPUSet.format(try CPUSet.parse($0, on: HostTopology.discover())) }
        options.kernel = kernel
        options.devices = devices
        options.ports = publish
        options.publishAll = publishAll
        options.dri = dri
        options.nvidia = nvidia
        options.mpi = try mpi.map(MPIMode.parse)
        options.noBanner = noBanner
        options.location = location.map(Paths.absolute)
        options.platform = platform
        return options
    }

    func run() throws {
        let context = try Context.get()
        let options = try options()
        let tools = context.hostTools
        let preparation = RunPreparation(store: context.containers, sysDirs: context.config.list("sysdirs_list"),
                                         inheritedDescriptors: OpenDescriptors.inheritableCount())
        let planner = RunPlanner(preparation: preparation, config: context.config, tools: tools)

        if let location = options.location {
            let setting = try execmode.map(ExecModeStore.parse) ?? ExecModeStore(repository: context.repository).defaultSetting()
            guard case .mode(let mode) = setting else {
                throw UdockerError(.unsupported, "--location needs an explicit mode (auto probes stored containers only)")
            }
            let stateDir = context.config.tmpDir + "/udocker-\(getuid())-location-" + String(try Digest.sha256(Data(location.utf8)).dropFirst(7).prefix(12))
            try start(planner.plan(.location(root: location, stateDir: stateDir), mode: mode, options: options), id: nil, context: context)
        }

        let (id, created) = try resolveContainer(context)
        do {
            let mode = try execmode.map(ExecMode.parse) ?? planner.mode(for: id)
            checkPlatform(id, context: context)
            try start(planner.plan(.container(id: id), mode: mode, options: options), id: id, context: context)
        } catch {
            if created && !remove { Log.info("container kept: \(id)") }
            if created && remove { try? context.containers.remove(id) }
            throw error
        }
    }

    private func start(_ planned: (ContainerRun, ExecPlan), id: String?, context: Context) throws -> Never {
        let (run, plan) = planned
        Log.debug("mode \(run.mode.rawValue), exec: \(plan.arguments)")
        if !noBanner { banner(run) }
        if remove, let id {
            // The process is replaced by the engine, so --rm runs the container as a child and cleans up after.
            let status = try ChildRun.run(plan)
            if (try? context.containers.remove(id)) == nil { Log.warning("container not removed: \(id)") }
            throw ExitCode(status)
        }
        try Executor.exec(plan)
    }

    /// udocker 1.3's start banner, at info level. Unlike udocker it goes to stderr, so that a job capturing the
    /// container's stdout gets only what the command printed.
    private func banner(_ run: ContainerRun) {
        guard Log.isEnabled(.info) else { return }
        let line = String(repeating: "*", count: 78), blank = "*" + String(repeating: " ", count: 76) + "*"
        let title = "*" + ("STARTING " + run.id).centered(76) + "*"
        Output.stderr(" \n\(line)\n\(blank)\n\(title)\n\(blank)\n\(line)\nexecuting: \(Paths.basename(run.command[0]))\n")
    }

    private func checkPlatform(_ id: String, context: Context) {
        guard let platform, let image = try? context.containers.imageConfig(id), !image.architecture.isEmpty else { return }
        if !platform.split(separator: "/").contains(Substring(image.architecture)) {
            Log.warning("container platform \(image.platform) differs from --platform \(platform)")
        }
    }

    /// A container id/name, or an image to create a container from (as udocker does).
    private func resolveContainer(_ context: Context) throws -> (String, Bool) {
        guard let container else { throw UdockerError(.usage, "missing container") }
        if let id = try? context.containers.resolve(container) { return (id, false) }
        let reference = try ImageReference.parse(container)
        return (try ContainerCreation.create(reference, name: name, pull: pull, platform: try platform.map(Platform.parse),
                                             settings: registryOptions.settings(context), context: context), true)
    }
}

private extension String {
    func centered(_ width: Int) -> String {
        let pad = max(0, width - count)
        return String(repeating: " ", count: pad / 2) + self + String(repeating: " ", count: pad - pad / 2)
    }
}
