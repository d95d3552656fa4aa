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
            var command = try UdockerCommand.parseAsRoot(rest)
            Context.current = try Context.make(options, createRepository: !(command is HelpLikeCommand))
            try command.run()
            exit(0)
        } catch let error as UdockerError {
            fail(error.description)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            if UdockerCommand.exitCode(for: error) == .success {
                Output.stdout(UdockerCommand.fullMessage(for: error) + "\n")
                exit(0)
            }
            fail(UdockerCommand.message(for: error))
        }
    }

    static func fail(_ message: String) -> Never {
        let line = message.split(separator: "\n").first.map(String.init) ?? message
        Output.stderr("Error: " + line + "\n")
        exit(1)
    }
}

/// Commands that must work without creating a repository (version, showconf).
protocol HelpLikeCommand {}
