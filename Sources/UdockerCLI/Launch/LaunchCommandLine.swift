import ArgumentParser

/// A rank's plain `udocker-launch` line read without ArgumentParser (see PlainCommandLine): `[run] [OPTIONS]
/// IMAGE|CONTAINER [--] COMMAND`. Every rank of a job starts with this, so ArgumentParser's ~15 M instructions were
/// most of a rank's own work. LaunchCommandLineTests hold it to LaunchRunCommand's options and ArgumentParser's
/// results.
enum LaunchCommandLine {
    /// The line of a rank (the `run` subcommand, named or not), read as ArgumentParser would; nil for the other
    /// subcommands and for any line that is not plain.
    static func parse(_ arguments: [String]) -> LaunchRunRequest? {
        var start = 0
        if let word = arguments.first, let subcommand = CommandDispatch.subcommand(named: word, of: LaunchCommand.self) {
            guard subcommand == LaunchRunCommand.self else { return nil }
            start = 1
        }
        var request = LaunchRunRequest()
        guard let first = PlainCommandLine.readOptions(arguments, from: start, options, into: &request),
              first < arguments.count else { return nil }
        // `udocker-launch --scratch=DIR clean`: another subcommand after its options (LaunchMain.parse moves it).
        if start == 0, CommandDispatch.subcommand(named: arguments[first], of: LaunchCommand.self) != nil { return nil }
        request.target = arguments[first]
        request.command = Array(arguments[(first + 1)...])
        return request
    }

    /// Every option name this reader knows, and whether it takes a value.
    static var names: [String: Bool] { PlainCommandLine.names(options) }

    /// LaunchRunCommand's options, under each of their names.
    private static var options: [PlainOption<LaunchRunRequest>] {
        let own: [PlainOption<LaunchRunRequest>] = [
            .value("--join") { $0.join = $1 },
            .value("--bind") { $0.bind = $1 },
            .flag("--gpu") { $0.gpu = true },
            .converted("--gpus-per-rank", as: { Int($0) }) { $0.gpusPerRank = $1 },
            .value("--mpi") { $0.mpi = $1 },
            .flag("--cleanup") { $0.cleanup = true },
            .flag("--dry-run") { $0.dryRun = true },
        ]
        let general = LaunchGeneralValues.plainOptions.map { $0.on(\LaunchRunRequest.general) }
        let staging = LaunchStagingValues.plainOptions.map { $0.on(\LaunchRunRequest.staging) }
        let flags = ContainerRunValues.plainOptions.map { $0.on(\LaunchRunRequest.flags) }
        return own + general + staging + flags
    }
}
