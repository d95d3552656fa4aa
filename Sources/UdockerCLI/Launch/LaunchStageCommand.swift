import ArgumentParser
import Foundation
import UdockerCore

/// `udocker-launch stage IMAGE|CONTAINER`: stage onto this node now (one task per node, before the MPI step).
struct LaunchStageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage", _superCommandName: "udocker-launch",
        abstract: "Stage a container into this node's scratch (once per node) and set up its mode.")

    @OptionGroup var general: LaunchGeneralOptions
    @OptionGroup var staging: LaunchStagingFlags
    @Argument(help: "Image or container in the repository.") var target: String

    func run() throws {
        let context = try general.context()
        var request = LaunchRequest(target: target, options: RunOptions())
        request.scratch = general.scratch
        try staging.apply(to: &request)
        let summary = try Launcher(repository: context.repository, tools: context.hostTools,
                                   environment: ProcessInfo.processInfo.environment).stage(request)
        Output.stdout(summary + "\n")
    }
}
