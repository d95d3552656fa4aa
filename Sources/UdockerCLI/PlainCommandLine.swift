/// Reading the command lines that start a container (`udocker run`, a rank's `udocker-launch`) without
/// ArgumentParser, which reflects over a command's properties several times per parse: 15 M of the 21–25 M
/// instructions those commands executed before doing anything (docs/performance.md).
///
/// Only plain lines are read: options in the forms `--name=VALUE`, `--name VALUE`, `-n VALUE`, `--flag`, `-f`,
/// then the first word that is not an option and everything after it. Anything else (help, an unknown option, a
/// flag given twice or with a value, a value that looks like an option, `--` before the first word, a value the
/// option does not accept) makes the reader give up and ArgumentParser read the line, so ArgumentParser's results
/// and messages remain the reference; UdockerCLITests hold each reader to the same options and results.
struct PlainOption<Request> {
    enum Kind {
        case flag((inout Request) -> Void)
        /// False when the value is not one the option accepts.
        case value((inout Request, String) -> Bool)
    }

    let names: [String]
    let kind: Kind

    static func flag(_ names: String..., set: @escaping (inout Request) -> Void) -> PlainOption {
        PlainOption(names: names, kind: .flag(set))
    }

    static func value(_ names: String..., set: @escaping (inout Request, String) -> Void) -> PlainOption {
        PlainOption(names: names, kind: .value { request, text in set(&request, text); return true })
    }

    /// An option whose value must convert (a number, one of a set of words).
    static func converted<T>(_ name: String, as convert: @escaping (String) -> T?,
                             set: @escaping (inout Request, T) -> Void) -> PlainOption {
        PlainOption(names: [name], kind: .value { request, text in
            guard let value = convert(text) else { return false }
            set(&request, value)
            return true
        })
    }

    /// The same option on a part of a bigger request (an option group).
    func on<Whole>(_ part: WritableKeyPath<Whole, Request>) -> PlainOption<Whole> {
        switch kind {
        case .flag(let set): PlainOption<Whole>(names: names, kind: .flag { set(&$0[keyPath: part]) })
        case .value(let set): PlainOption<Whole>(names: names, kind: .value { set(&$0[keyPath: part], $1) })
        }
    }
}

enum PlainCommandLine {
    /// Reads the options at `words[start...]` into `request`. Returns the index of the first word that is not an
    /// option (`words.count` when there is none), or nil when the line is not plain.
    static func readOptions<Request>(_ words: [String], from start: Int, _ options: [PlainOption<Request>],
                                     into request: inout Request) -> Int? {
        var index = start
        var flagsSeen = Set<String>()
        while index < words.count, words[index].hasPrefix("-") {
            let (name, attached) = split(words[index])
            guard let option = options.first(where: { $0.names.contains(name) }) else { return nil }
            switch option.kind {
            case .flag(let set):
                guard attached == nil, flagsSeen.insert(option.names[0]).inserted else { return nil }
                set(&request)
            case .value(let set):
                let value: String
                if let attached {
                    value = attached
                } else {
                    index += 1
                    guard index < words.count, !words[index].hasPrefix("-") else { return nil }
                    value = words[index]
                }
                guard set(&request, value) else { return nil }
            }
            index += 1
        }
        return index
    }

    /// Every option name of `options`, and whether it takes a value (for the tests against ArgumentParser).
    static func names<Request>(_ options: [PlainOption<Request>]) -> [String: Bool] {
        var names: [String: Bool] = [:]
        for option in options {
            let takesValue = if case .value = option.kind { true } else { false }
            for name in option.names { names[name] = takesValue }
        }
        return names
    }

    /// `--name=VALUE` → (`--name`, VALUE); anything else → (word, nil). Short options take no attached value.
    private static func split(_ word: String) -> (String, String?) {
        guard word.hasPrefix("--"), let equals = word.firstIndex(of: "=") else { return (word, nil) }
        return (String(word[..<equals]), String(word[word.index(after: equals)...]))
    }
}
