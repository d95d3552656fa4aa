import ArgumentParser

/// `udocker run`'s command line read without ArgumentParser, which reflects over RunCommand's ~35 options at
/// every start: 14.8 M of the 21 M instructions `udocker run` executes before it execs the engine, ~2.5 ms
/// (docs/performance.md), more than all the rest of run's work.
///
/// Only lines made of run's options in their plain forms (`--name=VALUE`, `--name VALUE`, `-n VALUE`, `--flag`,
/// `-P`), then a container and its command, are read here. For anything else (help, an unknown option, a flag
/// given twice or with a value, a value that looks like an option, `--` before the container, an invalid `--pull`,
/// a failed validation) `parse` returns nil and ArgumentParser reads the line, so its results and messages remain
/// the reference: RunCommandLineTests holds this reader to ArgumentParser's declarations and results. It fills a
/// RunRequest directly: even constructing RunCommand's property wrappers costs ~0.3 ms.
enum RunCommandLine {
    /// A line whose command word is `run`, read as ArgumentParser would; nil for any other line.
    static func parse(_ words: [String]) -> RunRequest? {
        guard words.first == RunCommand.configuration.commandName else { return nil }
        var line = RunRequest()
        var index = 1
        var flagsSeen = Set<String>()
        while index < words.count {
            let word = words[index]
            guard word.hasPrefix("-") else { break }
            let (name, attached) = split(word)
            guard let kind = options[name] else { return nil }
            switch kind {
            case .flag(let set):
                guard attached == nil, flagsSeen.insert(name).inserted else { return nil }
                set(&line)
            case .value(let set):
                let value: String
                if let attached {
                    value = attached
                } else {
                    index += 1
                    guard index < words.count, !words[index].hasPrefix("-") else { return nil }
                    value = words[index]
                }
                guard set(&line, value) else { return nil }
            }
            index += 1
        }
        if index < words.count {
            line.container = words[index]
            line.command = Array(words[(index + 1)...])
        }
        // RunCommand.validate's one rule; a line that breaks it goes to ArgumentParser for the message.
        guard line.container != nil || line.location != nil else { return nil }
        return line
    }

    /// `--name=VALUE` → (`--name`, VALUE); anything else → (word, nil). Short options take no attached value.
    private static func split(_ word: String) -> (String, String?) {
        guard word.hasPrefix("--"), let equals = word.firstIndex(of: "=") else { return (word, nil) }
        return (String(word[..<equals]), String(word[word.index(after: equals)...]))
    }

    private enum Kind: Sendable {
        case flag(@Sendable (inout RunRequest) -> Void)
        /// False when the value is not one the option accepts.
        case value(@Sendable (inout RunRequest, String) -> Bool)
    }

    private static func value(_ set: @escaping @Sendable (inout RunRequest, String) -> Void) -> Kind {
        .value { values, text in set(&values, text); return true }
    }

    /// Every option name this reader knows, and whether it takes a value.
    static var names: [String: Bool] {
        options.mapValues { if case .value = $0 { true } else { false } }
    }

    private static let options: [String: Kind] = {
        var table: [String: Kind] = [
            "--rm": .flag { $0.remove = true },
            "--name": value { $0.name = $1 },
            "--hostname": value { $0.hostname = $1 },
            "--kernel": value { $0.kernel = $1 },
            "--cpuset-cpus": value { $0.cpuset = $1 },
            "--device": value { $0.devices.append($1) },
            "--location": value { $0.location = $1 },
            "--platform": value { $0.platform = $1 },
            "--execmode": value { $0.execmode = $1 },
            "--dri": .flag { $0.dri = true },
            "--nvidia": .flag { $0.nvidia = true },
            "--nobanner": .flag { $0.noBanner = true },
            "--mpi": value { $0.mpi = $1 },
            "--pull": .value { values, text in
                guard let policy = PullPolicy(argument: text) else { return false }
                values.pull = policy
                return true
            },
            "--novol": value { $0.flags.noVolumes.append($1) },
            "--env-file": value { $0.flags.envFiles.append($1) },
            "--entrypoint": value { $0.flags.entrypoint = $1 },
            "--nosysdirs": .flag { $0.flags.noSysDirs = true },
            "--nometa": .flag { $0.flags.noMeta = true },
            "--hostenv": .flag { $0.flags.hostEnv = true },
            "--hostauth": .flag { $0.flags.hostAuth = true },
            "--containerauth": .flag { $0.flags.containerAuth = true },
            "--bindhome": .flag { $0.flags.bindHome = true },
            "--registry": value { $0.registry = $1 },
            "--index": value { $0.index = $1 },
            "--httpproxy": value { $0.httpProxy = $1 },
        ]
        let both: [(String, String, Kind)] = [
            ("-p", "--publish", value { $0.publish.append($1) }),
            ("-P", "--publish-all", .flag { $0.publishAll = true }),
            ("-w", "--workdir", value { $0.flags.workdir = $1 }),
            ("-u", "--user", value { $0.flags.user = $1 }),
            ("-v", "--volume", value { $0.flags.volumes.append($1) }),
            ("-e", "--env", value { $0.flags.env.append($1) }),
        ]
        for (short, long, kind) in both { table[short] = kind; table[long] = kind }
        return table
    }()
}
