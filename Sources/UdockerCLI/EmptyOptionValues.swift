import ArgumentParser
import Foundation

/// swift-argument-parser reads `--name=` (nothing after the `=`) as a bare `--name` and takes the next argument
/// as its value: `run --entrypoint= C cmd` would make C the entrypoint. udocker and docker read an empty value.
/// Before parsing, each such option of the subcommand becomes `--name ""`; options that take no value, words
/// after `--`, and everything after the first positional argument of a command that passes the rest through
/// (run's command line) are left as they are.
enum EmptyOptionValues {
    static func expand(_ arguments: [String]) -> [String] {
        guard let word = arguments.first,
              arguments.dropFirst().contains(where: { $0.hasPrefix("--") && $0.hasSuffix("=") }),
              let command = UdockerCommand.commandTypes.first(where: { $0.configuration.commandName == word }),
              let shape = Shape(command) else { return arguments }
        var result = [word]
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" { return result + arguments[(index - 1)...] }
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                if body.hasSuffix("="), shape.valueOptions.contains(String(body.dropLast())) {
                    result += ["--" + body.dropLast(), ""]
                    continue
                }
                result.append(argument)
                // `--name VALUE`: the value is not a positional argument.
                if shape.valueOptions.contains(String(body)), index < arguments.count {
                    result.append(arguments[index])
                    index += 1
                }
            } else if argument.count == 2, argument.hasPrefix("-") {
                result.append(argument)
                if shape.valueOptions.contains(String(argument.dropFirst())), index < arguments.count {
                    result.append(arguments[index])
                    index += 1
                }
            } else {
                result.append(argument)
                if shape.passesTheRestThrough && !argument.hasPrefix("-") { return result + arguments[index...] }
            }
        }
        return result
    }

    /// What the parser's own description of a command (the `--experimental-dump-help` JSON) says of its
    /// arguments: the names of the options that take a value, and whether a positional takes all that follows.
    private struct Shape {
        var valueOptions = Set<String>()
        var passesTheRestThrough = false

        init?(_ command: any ParsableCommand.Type) {
            guard let json = try? JSONSerialization.jsonObject(with: Data(command._dumpHelp().utf8)) as? [String: Any],
                  let arguments = (json["command"] as? [String: Any])?["arguments"] as? [[String: Any]] else { return nil }
            for argument in arguments {
                switch argument["kind"] as? String {
                case "option":
                    for name in argument["names"] as? [[String: Any]] ?? [] {
                        if let text = name["name"] as? String { valueOptions.insert(text) }
                    }
                case "positional":
                    if argument["parsingStrategy"] as? String == "allRemainingInput" { passesTheRestThrough = true }
                default: break
                }
            }
        }
    }
}
