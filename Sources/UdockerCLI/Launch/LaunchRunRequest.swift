import Foundation
import UdockerCore

/// What a rank's `udocker-launch` line asks for, as plain values, and running it. LaunchCommandLine reads plain
/// lines into one directly; LaunchRunCommand (ArgumentParser's reading, the reference) converts itself into one.
struct LaunchRunRequest: Equatable {
    var general = LaunchGeneralValues()
    var staging = LaunchStagingValues()
    var flags = ContainerRunValues()
    var join = "yes"
    var bind = "auto"
    var gpu = false
    var gpusPerRank: Int?
    var mpi = "auto"
    var cleanup = false
    var dryRun = false
    var target = ""
    var command: [String] = []

    func run() throws {
        let context = try general.context()
        var request = LaunchRequest(target: target, options: try flags.options())
        request.options.command = command.first == "--" ? Array(command.dropFirst()) : command
        request.options.noBanner = true
        request.scratch = general.scratch
        try staging.apply(to: &request)
        guard ["yes", "no"].contains(join) else { throw UdockerError(.invalidInput, "invalid --join: \(join) (valid: yes no)") }
        request.join = join == "yes"
        request.bind = try RankPinning.Policy.parse(bind)
        request.cleanup = cleanup
        request.gpu = gpu
        request.gpusPerRank = gpusPerRank
        request.mpi = try MPIMode.parse(mpi)
        let plan = try Launcher(repository: context.repository, tools: context.hostTools,
                                environment: ProcessInfo.processInfo.environment).prepare(request, dryRun: dryRun)
        if dryRun {
            Output.stdout(plan.report + "\n")
            return
        }
        Log.debug(plan.report)
        try Executor.exec(plan.exec)
    }
}
