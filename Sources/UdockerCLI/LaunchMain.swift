import ArgumentParser
import Foundation
import UdockerCore

/// `udocker-launch`: the per-rank HPC launcher. Failures print one `Error: …` line and exit 1, as udocker's do;
/// the command's own exit status is the rank's (the process becomes the command).
public enum LaunchMain {
    public static func run(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        do {
            var command = try LaunchCommand.parseAsRoot(subcommandFirst(arguments))
            try command.run()
            exit(0)
        } catch {
            UdockerMain.finish(error, of: LaunchCommand.self)
        }
    }

    /// `udocker-launch --scratch=DIR clean` means `udocker-launch clean --scratch=DIR`: a subcommand word may
    /// follow the options, since job scripts put common options first. (`run NAME` runs a container named so.)
    static func subcommandFirst(_ arguments: [String]) -> [String] {
        let words = LaunchCommand.configuration.subcommands.map { $0.configuration.commandName ?? "" }
        guard let first = arguments.first, first.hasPrefix("-"),
              let command = try? LaunchCommand.parseAsRoot(arguments) as? LaunchRunCommand, words.contains(command.target),
              let index = arguments.firstIndex(of: command.target) else { return arguments }
        var moved = arguments
        moved.remove(at: index)
        return [command.target] + moved
    }
}
