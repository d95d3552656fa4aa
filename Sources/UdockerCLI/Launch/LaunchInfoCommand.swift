import ArgumentParser
import Foundation
import UdockerCore

/// `udocker-launch info [--json]`: what the launcher detects about this rank and node.
struct LaunchInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", _superCommandName: "udocker-launch",
        abstract: "Print the rank, node-local scratch, tools, CPUs and each local rank's pinning.")

    @OptionGroup var general: LaunchGeneralOptions
    @Option(name: .customLong("bind"), help: "The pinning policy to show: none, core, numa, auto.") var bind: String = "auto"
    @Flag(name: .customLong("json"), help: "Print JSON.") var json = false

    func run() throws {
        let context = try general.context()
        let info = try Launcher(repository: context.repository, tools: context.hostTools,
                                environment: ProcessInfo.processInfo.environment)
            .info(scratch: general.scratch, bind: try RankPinning.Policy.parse(bind))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Output.stdout(String(decoding: try encoder.encode(info), as: UTF8.self) + "\n")
        } else {
            Output.stdout(info.text + "\n")
        }
    }
}
