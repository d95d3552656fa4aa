import Foundation
import UdockerCore

/// `udocker-launch`: the per-rank HPC launcher. For now it prints its usage; the launcher work builds on the core.
public enum LaunchMain {
    static let usage = """
    udocker-launch: run one MPI rank inside a udocker container (srun, mpirun, PBS).

    Usage: udocker-launch [OPTIONS] CONTAINER|IMAGE [COMMAND [ARG...]]

    Stages the container into node-local scratch once per node, picks the fastest execution mode for MPI,
    binds the host MPI, interconnect and GPU libraries, pins the rank and execs the command.
    This build has the launcher's interface only; use `udocker run` meanwhile.

    Options:
      -h, --help       show this help
      -V, --version    show the version
    """

    public static func run(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        if arguments.contains("-V") || arguments.contains("--version") {
            Output.stdout(UdockerVersion.string + "\n"); exit(0)
        }
        if arguments.isEmpty || arguments.contains("-h") || arguments.contains("--help") {
            Output.stdout(usage + "\n"); exit(0)
        }
        Output.stderr("Error: udocker-launch is not implemented yet in this build; see --help\n")
        exit(1)
    }
}
