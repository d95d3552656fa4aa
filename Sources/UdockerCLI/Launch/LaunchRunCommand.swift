import ArgumentParser
import UdockerCore

/// `udocker-launch [OPTIONS] IMAGE|CONTAINER [--] COMMAND [ARG...]`: one rank.
struct LaunchRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", _superCommandName: "udocker-launch",
        abstract: "Run one rank's command in the container (the default: `run` may be left out).")

    @OptionGroup var general: LaunchGeneralOptions
    @OptionGroup var staging: LaunchStagingFlags
    @OptionGroup var flags: ContainerRunFlags
    @Option(name: .customLong("join"), help: "U1: the node's ranks share one namespace (yes) or each has its own (no).") var join: String = "yes"
    @Option(name: .customLong("bind"), help: "Pin the rank: none, core, numa, gpu (the cores nearest its GPU), auto (keep a binding the job already set, else core).")
    var bind: String = "auto"
    @Flag(name: .customLong("gpu"), help: "Bind the host's NVIDIA driver into the container.") var gpu = false
    @Option(name: .customLong("gpus-per-rank"), help: "With --gpu: give each local rank its own N GPUs (CUDA_VISIBLE_DEVICES).")
    var gpusPerRank: Int?
    @Option(name: .customLong("mpi"), help: "MPI: auto (the host's when every ABI check passes, else the container's), host, container, none.")
    var mpi: String = "auto"
    @Flag(name: .customLong("cleanup"), help: "Remove the stage when the node's last rank using it has exited.") var cleanup = false
    @Flag(name: .customLong("dry-run"), help: "Print what would run and why, and run nothing.") var dryRun = false
    @Argument(help: "Image or container in the repository.") var target: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    /// This line as plain values: what LaunchRunRequest runs.
    var request: LaunchRunRequest {
        LaunchRunRequest(general: general.values, staging: staging.values, flags: flags.values, join: join, bind: bind, gpu: gpu,
                         gpusPerRank: gpusPerRank, mpi: mpi, cleanup: cleanup, dryRun: dryRun, target: target, command: command)
    }

    func run() throws { try request.run() }
}
