import ArgumentParser
import UdockerCore

/// The `udocker-launch` command tree; `run` is the default, so a job line reads
/// `srun udocker-launch [OPTIONS] IMAGE -- COMMAND`.
struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udocker-launch",
        abstract: "Run one MPI rank inside a udocker container (under srun, mpirun or PBS).",
        discussion: """
        Stages the container into node-local scratch once per node, picks the fastest execution mode for MPI,
        passes the process manager's variables and rendezvous paths in, pins the rank and execs the command.
        udocker's general options (--repo, --config, -D, -q, --allow-root) go among the launcher's own.
        """,
        version: UdockerVersion.string,
        subcommands: [LaunchRunCommand.self, LaunchStageCommand.self, LaunchInfoCommand.self, LaunchCleanCommand.self,
                      LaunchTemplateCommand.self, LaunchPublishCommand.self, LaunchPublishedCommand.self,
                      LaunchBroadcastDirCommand.self],
        defaultSubcommand: LaunchRunCommand.self
    )
}
