import ArgumentParser
import Foundation
import UdockerCore

/// The `udocker` command tree. General options are handled by `UdockerMain` before this parser runs.
struct UdockerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udocker",
        abstract: "Pull and run Docker/OCI containers without privileges.",
        discussion: """
        General options (before the command): -D/--debug, -q/--quiet, --repo=DIR, --allow-root, --config=FILE,
        --insecure, -h/--help, -V/--version.
        """,
        subcommands: commandTypes
    )

    /// Every subcommand; other work items append theirs here.
    static let commandTypes: [any ParsableCommand.Type] = [
        ImagesCommand.self, CreateCommand.self, PsCommand.self, RmCommand.self, RmiCommand.self,
        NameCommand.self, RmnameCommand.self, RenameCommand.self, TagCommand.self,
        InspectCommand.self, VerifyCommand.self, ProtectCommand.self, UnprotectCommand.self,
        RunCommand.self, SetupCommand.self, MkrepoCommand.self, ShowconfCommand.self, VersionCommand.self,
        PullCommand.self, SearchCommand.self, LoginCommand.self, LogoutCommand.self, ManifestCommand.self,
        LoadCommand.self, SaveCommand.self, ImportCommand.self, ExportCommand.self, CloneCommand.self,
        InstallCommand.self,
    ]
}

public enum UdockerVersion {
    public static let string = "1.3.17-swift.0.1"
}

/// Entry point shared by the executables: parse, run, map every failure to `Error: …` and exit status 1.
public enum UdockerMain {
    public static func run(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        do {
            let (options, rest) = try GlobalOptions.split(arguments)
            if options.version { Output.stdout(UdockerVersion.string + "\n"); exit(0) }
            if options.help || rest.isEmpty { Output.stdout(UdockerCommand.helpMessage() + "\n"); exit(0) }
            if geteuid() == 0 && !options.allowRoot { throw UdockerError(.permission, "do not run as root !") }
            let words = EmptyOptionValues.expand(rest)
            if let request = RunCommandLine.parse(words) {
                Context.current = try Context.make(options, createRepository: true)
                try request.run()
                exit(0)
            }
            var command = try CommandDispatch.parse(words, root: UdockerCommand.self)
            let context = try Context.make(options, createRepository: !(command is HelpLikeCommand))
            Context.current = context
            if command is ChangesRepository { context.reclaimAbandoned() }
            try command.run()
            exit(0)
        } catch {
            finish(error, of: UdockerCommand.self)
        }
    }

    /// How every failure ends, for both executables: a udocker error is one `Error: …` line and status 1 (127 for
    /// a command the container lacks); an ExitCode is the status the command chose; a parser's help or version goes
    /// to stdout with status 0.
    static func finish(_ error: Error, of command: ParsableCommand.Type) -> Never {
        switch error {
        case let error as UdockerError: fail(error.description, status: error.exitStatus)
        case let error as ExitCode: exit(error.rawValue)
        default:
            if command.exitCode(for: error) == .success {
                Output.stdout(command.fullMessage(for: error) + "\n")
                exit(0)
            }
            fail(command.message(for: error))
        }
    }

    static func fail(_ message: String, status: Int32 = 1) -> Never {
        let line = message.split(separator: "\n").first.map(String.init) ?? message
        Output.stderr("Error: " + line + "\n")
        exit(status)
    }
}

/// Commands that must work without creating a repository (version, showconf).
protocol HelpLikeCommand {}

/// Commands that add to or remove from the repository: they first reclaim what killed commands left there.
protocol ChangesRepository {}
