import ArgumentParser
import Foundation
import UdockerCore

/// `udocker-launch broadcast-dir`: makes this user's private directory for broadcast copies on this node and
/// prints its path: the job script's broadcast step (one task per node) runs it, then `sbcast`s the published
/// archive there, where the launcher looks for it and no other user can plant or change a file.
struct LaunchBroadcastDirCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broadcast-dir", _superCommandName: "udocker-launch",
        abstract: "Make and print this node's private directory for broadcast copies of published archives.")

    @OptionGroup var general: LaunchGeneralOptions

    func run() throws {
        _ = try general.context()
        let area = try StageArea.choose(explicit: general.scratch, environment: ProcessInfo.processInfo.environment)
        Output.stdout(try area.makeBroadcastDir() + "\n")
    }
}
