import ArgumentParser
import Foundation
import UdockerCore

/// udocker's general options, which `udocker-launch` takes among its own (a job line has no command word to
/// put them before).
struct LaunchGeneralOptions: ParsableArguments {
    @Option(name: .customLong("repo"), help: "The udocker repository (default: UDOCKER_DIR or ~/.udocker).") var repo: String?
    @Option(name: .customLong("config"), help: "A udocker.conf to read.") var configFile: String?
    @Flag(name: [.customShort("D"), .customLong("debug")], help: "Print debug messages.") var debug = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only errors.") var quiet = false
    @Flag(name: .customLong("allow-root"), help: "Allow running as root.") var allowRoot = false
    @Option(name: .customLong("scratch"), help: "Node-local directory for stages (default: $SLURM_TMPDIR, $TMPDIR or /tmp).") var scratch: String?

    var values: LaunchGeneralValues {
        LaunchGeneralValues(repo: repo, configFile: configFile, debug: debug, quiet: quiet, allowRoot: allowRoot, scratch: scratch)
    }

    func context(createRepository: Bool = false) throws -> Context { try values.context(createRepository: createRepository) }
}

/// LaunchGeneralOptions as plain values, at the same defaults (what LaunchCommandLine fills).
struct LaunchGeneralValues: Equatable {
    var repo: String?
    var configFile: String?
    var debug = false
    var quiet = false
    var allowRoot = false
    var scratch: String?

    /// The invocation's context: refuses root as udocker does, reads the configuration, opens the repository.
    func context(createRepository: Bool = false) throws -> Context {
        if geteuid() == 0 && !allowRoot { throw UdockerError(.permission, "do not run as root !") }
        var options = GlobalOptions()
        options.repo = repo
        options.configFile = configFile
        options.debug = debug
        options.quiet = quiet
        options.allowRoot = allowRoot
        let context = try Context.make(options, createRepository: createRepository)
        Context.current = context
        return context
    }

    static var plainOptions: [PlainOption<LaunchGeneralValues>] {
        [
            .value("--repo") { $0.repo = $1 },
            .value("--config") { $0.configFile = $1 },
            .flag("-D", "--debug") { $0.debug = true },
            .flag("-q", "--quiet") { $0.quiet = true },
            .flag("--allow-root") { $0.allowRoot = true },
            .value("--scratch") { $0.scratch = $1 },
        ]
    }
}
