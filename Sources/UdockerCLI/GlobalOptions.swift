import UdockerCore

/// udocker's general options, which come before the command word (`udocker -D --repo=DIR images`).
/// They are split off by hand so that the command's own parser never sees them, exactly as udocker 1.3 does.
struct GlobalOptions: Sendable {
    var debug = false
    var quiet = false
    var repo: String?
    var allowRoot = false
    var configFile: String?
    var insecure = false
    var help = false
    var version = false

    /// Consumes leading general options; returns them and the remaining arguments (command word first).
    static func split(_ arguments: [String]) throws -> (GlobalOptions, [String]) {
        var options = GlobalOptions()
        var index = 0
        func value(_ flag: String, _ argument: String) throws -> String {
            if let eq = argument.firstIndex(of: "=") { return String(argument[argument.index(after: eq)...]) }
            index += 1
            guard index < arguments.count else { throw UdockerError(.usage, "option \(flag) needs a value") }
            return arguments[index]
        }
        while index < arguments.count, arguments[index].hasPrefix("-") {
            let argument = arguments[index]
            let flag = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            switch flag {
            case "-D", "--debug": options.debug = true
            case "-q", "--quiet": options.quiet = true
            case "--repo": options.repo = try value(flag, argument)
            case "--allow-root": options.allowRoot = true
            case "--config": options.configFile = try value(flag, argument)
            case "--insecure": options.insecure = true
            case "-h", "--help": options.help = true
            case "-V", "--version": options.version = true
            default: throw UdockerError(.usage, "unknown general option: \(argument)")
            }
            index += 1
        }
        return (options, Array(arguments[index...]))
    }
}
