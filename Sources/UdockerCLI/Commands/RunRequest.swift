import ArgumentParser
import Foundation
import UdockerCore

/// What a `udocker run` line asks for, as plain values, and running it. RunCommandLine reads plain lines into one
/// directly; RunCommand (ArgumentParser's reading, the reference) converts itself into one. Defaults are
/// RunCommand's, which RunCommandLineTests holds them to.
struct RunRequest: Equatable {
    var flags = ContainerRunValues()
    var remove = false
    var name: String?
    var hostname: String?
    var kernel: String?
    var cpuset: String?
    var location: String?
    var platform: String?
    var publish: [String] = []
    var publishAll = false
    var execmode: String?
    var dri = false
    var nvidia = false
    var noBanner = false
    var mpi: String?
    var pull: PullPolicy = .missing
    var registry: String?
    var index: String?
    var httpProxy: String?
    var container: String?
    var command: [String] = []

    /// A line must name what to run: a container, an image, or a root file system with --location.
    var namesWhatToRun: Bool { container != nil || location != nil }

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
            let stateDir = try PrivateDirectory(context.config.tmpDir + "/udocker-\(getuid())-location-"
                                                + String(try Digest.sha256(Data(location.utf8)).dropFirst(7).prefix(12)),
                                                remedy: "remove it or set TMPDIR to a directory of yours").path
            try start(planner.plan(.location(root: location, stateDir: stateDir), mode: mode, options: options), id: nil, context: context)
        }

        let (id, created) = try resolveContainer(context)
        do {
            let explicit = try execmode.map(ExecMode.parse)
            checkPlatform(id, context: context)
            if explicit == nil, try planner.isAtDefaultP1(id) {
                try start(planner.planAtDefaultP1(id, name: created ? id : container ?? id, options: options), id: id, context: context)
            }
            try start(planner.plan(.container(id: id), mode: explicit ?? planner.mode(for: id), options: options), id: id, context: context)
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
                                             settings: RegistryAccess.settings(context, registry: registry, index: index, proxy: httpProxy),
                                             context: context), true)
    }
}

private extension String {
    func centered(_ width: Int) -> String {
        let pad = max(0, width - count)
        return String(repeating: " ", count: pad / 2) + self + String(repeating: " ", count: pad - pad / 2)
    }
}
