import ArgumentParser
import Foundation
import UdockerCore

/// `udocker-launch template slurm|pbs [OPTIONS] IMAGE|CONTAINER|PUBLISHED [--] COMMAND [ARG...]`: writes a batch
/// script that stages the container once per node and runs COMMAND in it, one launcher per rank.
struct LaunchTemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template", _superCommandName: "udocker-launch",
        abstract: "Write a SLURM or PBS batch script for a containerised job.",
        discussion: """
        The resource options are named as sbatch names them for both schedulers. Site defaults come from
        /etc/udocker/launch.conf, then ~/.udocker/launch.conf. A published container is named by the path of its
        manifest (DIR/NAME.json): the SLURM script then broadcasts its archive to the nodes with sbcast.
        """,
        subcommands: [Slurm.self, PBS.self, Unknown.self], defaultSubcommand: Unknown.self)

    /// Reached when the word after `template` names no scheduler: says so in one line.
    struct Unknown: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unknown-scheduler", _superCommandName: "udocker-launch",
            shouldDisplay: false)
        @Argument(parsing: .captureForPassthrough) var words: [String] = []
        func run() throws { _ = try Scheduler.parse(words.first ?? "") }
    }

    struct Slurm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "slurm", _superCommandName: "udocker-launch",
            abstract: "Write a SLURM batch script (sbatch).")
        @OptionGroup var options: TemplateOptions
        func run() throws { try options.write(.slurm) }
    }

    struct PBS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pbs", _superCommandName: "udocker-launch",
            abstract: "Write a PBS batch script (qsub).")
        @OptionGroup var options: TemplateOptions
        func run() throws { try options.write(.pbs) }
    }
}

/// The template commands' options: sbatch's names for both schedulers.
/// Site defaults come from /etc/udocker/launch.conf, then ~/.udocker/launch.conf (docs/admin.md). A published
/// container is named by the path of its manifest (DIR/NAME.json): the SLURM script then broadcasts its archive.
struct TemplateOptions: ParsableArguments {
    @Option(name: .customShort("o"), help: "Write the script to FILE (default: standard output).") var scriptFile: String?
    @Option(name: .customLong("nodes")) var nodes: Int = 1
    @Option(name: .customLong("ntasks-per-node")) var tasksPerNode: Int = 1
    @Option(name: .customLong("cpus-per-task")) var cpusPerTask: Int?
    @Option(name: .customLong("gpus-per-node")) var gpusPerNode: Int?
    @Option(name: .customLong("mem"), help: "Memory per node, e.g. 16G.") var memory: String?
    @Option(name: .customLong("time"), help: "Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.") var time: String?
    @Option(name: .customLong("partition"), help: "Partition (the queue for PBS).") var partition: String?
    @Option(name: .customLong("account")) var account: String?
    @Option(name: .customLong("job-name")) var jobName: String?
    @Option(name: .customLong("output"), help: "The job's output file (sbatch's --output, PBS's -o).") var output: String?
    @Option(name: .customLong("array"), help: "Job array indices, e.g. 1-10.") var array: String?
    @Option(name: .customLong("mpi"), help: "pmix, pmi2 (srun plugins), openmpi, mpich, or none.") var mpi: String?
    @Option(name: .customLong("scratch"), help: "Node-local directory for stages.") var scratch: String?
    @Option(name: .customLong("repo"), help: "The udocker repository the job uses (default: its UDOCKER_DIR).") var repo: String?
    @Option(name: [.customShort("v"), .customLong("volume")], help: "Bind HOST[:CONTAINER] for the command (repeatable).") var volumes: [String] = []
    @Option(name: [.customShort("e"), .customLong("env")], help: "Set NAME=VALUE for the command (repeatable).") var env: [String] = []
    @Argument(help: "Image, container, or published container (its manifest's path).") var target: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func write(_ scheduler: Scheduler) throws {
        var job = JobRequest(scheduler: scheduler, target: target,
                             command: command.first == "--" ? Array(command.dropFirst()) : command)
        job.nodes = nodes; job.tasksPerNode = tasksPerNode; job.cpusPerTask = cpusPerTask; job.gpusPerNode = gpusPerNode
        job.memory = memory; job.time = time; job.partition = partition; job.account = account; job.jobName = jobName
        job.output = output; job.array = array; job.mpi = try mpi.map { try MPIFlavour.parse($0) }
        job.scratch = scratch; job.repository = repo; job.volumes = volumes; job.environment = env
        let environment = ProcessInfo.processInfo.environment
        let site = try LaunchSiteConfig.load(environment: environment)
        let resolved = try job.resolved(site: site)
        if let unchecked = resolved.uncheckedCores(site: site) { Log.warning(unchecked) }
        let template = try JobTemplate.find(resolved.scheduler, site: site, executable: Executable.path)
        let script = try JobScript(resolved).render(template)
        if let scriptFile {
            try FileSystem.atomicWrite(script, to: Paths.absolute(scriptFile), mode: 0o755)
        } else {
            Output.stdout(script)
        }
    }
}

/// This process's executable, to find what `make install` put beside it.
enum Executable {
    static var path: String { FileSystem.readLink("/proc/self/exe") ?? CommandLine.arguments[0] }
}
