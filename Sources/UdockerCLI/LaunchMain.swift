import ArgumentParser
import Foundation
import UdockerCore

/// `udocker-launch`: the per-rank HPC launcher. Failures print one `Error: …` line and exit 1, as udocker's do;
/// the command's own exit status is the rank's (the process becomes the command).
public enum LaunchMain {
    public static func run(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        do {
            if let request = LaunchCommandLine.parse(arguments) {
                try request.run()
                exit(0)
            }
            var command = try parse(arguments)
            try command.run()
            exit(0)
        } catch {
            UdockerMain.finish(error, of: LaunchCommand.self)
        }
    }

    /// A line without a subcommand word first is the default subcommand's, `run` (parsed by it alone: see
    /// CommandDispatch), unless what run would take for its IMAGE is a subcommand word: `udocker-launch
    /// --scratch=DIR clean` means `udocker-launch clean --scratch=DIR`, since job scripts put common options
    /// first. (`run NAME` runs a container named so.)
    static func parse(_ arguments: [String]) throws -> ParsableCommand {
        guard let first = arguments.first, CommandDispatch.subcommand(named: first, of: LaunchCommand.self) == nil,
              let run = try? LaunchRunCommand.parseAsRoot(arguments) as? LaunchRunCommand else {
            return try CommandDispatch.parse(arguments, root: LaunchCommand.self)
        }
        guard first.hasPrefix("-"), CommandDispatch.subcommand(named: run.target, of: LaunchCommand.self) != nil,
              let index = arguments.firstIndex(of: run.target) else { return run }
        var moved = arguments
        moved.remove(at: index)
        return try CommandDispatch.parse([run.target] + moved, root: LaunchCommand.self)
    }
}
