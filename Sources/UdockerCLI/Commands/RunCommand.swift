import ArgumentParser
import Foundation
import UdockerCore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a command in a container (an image name creates the container first).")

    @Flag(name: .customLong("rm"), help: "Delete the container after it ran (an image run creates a temporary one).") var remove = false
    @Option(name: [.customShort("w"), .customLong("workdir")], help: "Working directory inside the container.") var workdir: String?
    @Option(name: [.customShort("u"), .customLong("user")], help: "User: name, uid or uid:gid.") var user: String?
    @Option(name: [.customShort("v"), .customLong("volume")], help: "Bind HOST[:CONTAINER] (repeatable).") var volumes: [String] = []
    @Option(name: .customLong("novol"), help: "Drop a volume given elsewhere (repeatable).") var noVolumes: [String] = []
    @Option(name: [.customShort("e"), .customLong("env")], help: "Set NAME=VALUE, or NAME from the host (repeatable).") var env: [String] = []
    @Option(name: .customLong("env-file"), help: "Read NAME=VALUE lines from a file (repeatable).") var envFiles: [String] = []
    @Option(name: .customLong("name"), help: "Name for the container created from an image.") var name: String?
    @Option(name: .customLong("entrypoint"), help: "Override the image's Entrypoint (\"\" clears it).") var entrypoint: String?
    @Option(name: .customLong("hostname"), help: .hidden) var hostname: String?
    @Option(name: .customLong("kernel"), help: "Kernel release the container sees (P modes).") var kernel: String?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs to run on, e.g. 0-3,8.") var cpuset: String?
    @Option(name: .customLong("execmode"), help: .hidden) var execmode: String?
    @Flag(name: .customLong("nosysdirs"), help: "Do not bind /dev /proc /sys and the host's resolv.conf/host.conf.") var noSysDirs = false
    @Flag(name: .customLong("nometa"), help: "Ignore the image's Entrypoint/Cmd/Env/WorkingDir/User.") var noMeta = false
    @Flag(name: .customLong("hostenv"), help: "Pass the host's environment.") var hostEnv = false
    @Flag(name: .customLong("hostauth"), help: "Use the host's passwd and group.") var hostAuth = false
    @Flag(name: .customLong("containerauth"), help: "Use the container's passwd and group as they are.") var containerAuth = false
    @Flag(name: .customLong("bindhome"), help: "Bind the invoking user's home directory.") var bindHome = false
    @Flag(name: .customLong("nobanner"), help: "Print no banner.") var noBanner = false
    @Option(name: .customLong("pull"), help: "Pull the image: missing (when not in the repository), never, always.")
    var pull: PullPolicy = .missing
    @Argument(help: "Container id or name, or image.") var container: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func options() throws -> RunOptions {
        var options = RunOptions()
        options.command = command.first == "--" ? Array(command.dropFirst()) : command
        options.entrypoint = entrypoint
        options.environment = env
        options.environmentFiles = envFiles
        options.volumes = try volumes.map(RunOptions.Volume.parse)
        options.noVolumes = noVolumes
        options.workingDirectory = workdir
        options.user = user
        options.hostname = hostname
        options.noSysDirs = noSysDirs
        options.noMeta = noMeta
        options.hostEnv = hostEnv
        options.hostAuth = hostAuth
        options.containerAuth = containerAuth
        options.bindHome = bindHome
        options.cpuSet = cpuset
        options.kernel = kernel
        options.noBanner = noBanner
        return options
    }

    func run() throws {
        let context = try Context.get()
        let options = try options()
        let (id, created) = try resolveContainer(context)
        do {
            let modes = ExecModeStore(repository: context.repository)
            let mode = try execmode.map(ExecMode.parse) ?? modes.mode(of: id)
            let preparation = RunPreparation(store: context.containers, sysDirs: context.config.list("sysdirs_list"))
            let prepared = try preparation.prepare(id: id, mode: mode, options: options)
            let tools = ToolLocator(repositoryBin: context.repository.binDir)
            let plan = try EngineFactory(config: context.config, tools: tools).engine(for: mode).plan(prepared)
            Log.debug("exec: \(plan.arguments)")
            if remove {
                // The process is replaced by the engine, so --rm runs the container as a child and cleans up after.
                let status = try ChildRun.run(plan)
                try? context.containers.remove(id)
                throw ExitCode(status)
            }
            try Executor.exec(plan)
        } catch {
            if created && !remove { Log.info("container kept: \(id)") }
            if created && remove { try? context.containers.remove(id) }
            throw error
        }
    }

    /// A container id/name, or an image to create a container from (as udocker does).
    private func resolveContainer(_ context: Context) throws -> (String, Bool) {
        if let id = try? context.containers.resolve(container) { return (id, false) }
        let reference = try ImageReference.parse(container)
        return (try ContainerCreation.create(reference, name: name, pull: pull, context: context), true)
    }
}
