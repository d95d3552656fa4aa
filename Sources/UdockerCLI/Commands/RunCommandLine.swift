import ArgumentParser

/// `udocker run`'s plain lines read without ArgumentParser (see PlainCommandLine): options, then the container and
/// its command. It fills a RunRequest directly: even constructing RunCommand's property wrappers costs ~0.3 ms.
/// RunCommandLineTests hold it to RunCommand's options and ArgumentParser's results.
enum RunCommandLine {
    /// A line whose command word is `run`, read as ArgumentParser would; nil for any other line.
    static func parse(_ words: [String]) -> RunRequest? {
        guard words.first == RunCommand.configuration.commandName else { return nil }
        var request = RunRequest()
        guard let first = PlainCommandLine.readOptions(words, from: 1, options, into: &request) else { return nil }
        if first < words.count {
            request.container = words[first]
            request.command = Array(words[(first + 1)...])
        }
        // RunCommand.validate's rule; a line that breaks it goes to ArgumentParser for the message.
        guard request.namesWhatToRun else { return nil }
        return request
    }

    /// Every option name this reader knows, and whether it takes a value.
    static var names: [String: Bool] { PlainCommandLine.names(options) }

    /// RunCommand's options, under each of their names.
    private static var options: [PlainOption<RunRequest>] {
        [
            .flag("--rm") { $0.remove = true },
            .value("--name") { $0.name = $1 },
            .value("--hostname") { $0.hostname = $1 },
            .value("--kernel") { $0.kernel = $1 },
            .value("--cpuset-cpus") { $0.cpuset = $1 },
            .value("--location") { $0.location = $1 },
            .value("--platform") { $0.platform = $1 },
            .value("-p", "--publish") { $0.publish.append($1) },
            .flag("-P", "--publish-all") { $0.publishAll = true },
            .value("--execmode") { $0.execmode = $1 },
            .flag("--dri") { $0.dri = true },
            .flag("--nvidia") { $0.nvidia = true },
            .flag("--nobanner") { $0.noBanner = true },
            .value("--mpi") { $0.mpi = $1 },
            .converted("--pull", as: { PullPolicy(argument: $0) }) { $0.pull = $1 },
            .value("--registry") { $0.registry = $1 },
            .value("--index") { $0.index = $1 },
            .value("--httpproxy") { $0.httpProxy = $1 },
        ] + ContainerRunValues.plainOptions.map { $0.on(\RunRequest.flags) }
    }
}
