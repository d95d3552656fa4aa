import ArgumentParser
import Foundation
import UdockerCore

struct MkrepoCommand: ParsableCommand, HelpLikeCommand {
    static let configuration = CommandConfiguration(
        commandName: "mkrepo", _superCommandName: "udocker",
        abstract: "Create a repository in a directory.")
    @Argument(help: "Directory for the new repository.") var directory: String

    func run() throws {
        let path = Paths.absolute(directory)
        var config = try Context.get().config
        config["topdir"] = path
        for key in ["bindir", "libdir", "docdir", "reposdir", "layersdir", "containersdir"] { config[key] = nil }
        let repository = Repository(config: config)
        if repository.exists { throw UdockerError(.alreadyExists, "repository already exists: \(path)") }
        try repository.create()
    }
}

struct ShowconfCommand: ParsableCommand, HelpLikeCommand {
    static let configuration = CommandConfiguration(
        commandName: "showconf", _superCommandName: "udocker",
        abstract: "Print the configuration in effect.")
    func run() throws {
        let context = try Context.get()
        Output.stdout(String(repeating: "*", count: 60) + "\n* configuration\n" + String(repeating: "*", count: 60) + "\n")
        for key in context.config.values.keys.sorted() {
            Output.stdout("\(key): \(context.config.values[key] ?? "")\n")
        }
    }
}

struct VersionCommand: ParsableCommand, HelpLikeCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", _superCommandName: "udocker",
        abstract: "Print the version and the repository location.")
    func run() throws {
        let context = try Context.get()
        Output.stdout("version: \(UdockerVersion.string)\n\(Self.tarball(context))topdir: \(context.repository.topDir)\n")
    }

    /// udocker 1.3's `tarball:` and `tarball_release:` lines: the tools `udocker install` put in the repository
    /// (lib/VERSION says their release), else the tarball it would install from, else the host's own engines.
    static func tarball(_ context: Context) -> String {
        let libDir = context.repository.libDir
        if let release = try? FileSystem.readString(libDir + "/VERSION").trimmingCharacters(in: .whitespacesAndNewlines),
           !release.isEmpty {
            return "tarball: installed in \(libDir)\ntarball_release: \(release)\n"
        }
        if let source = context.config["tarball"] ?? Bundle.current()?.toolsTarball {
            return "tarball: \(source) (not installed: udocker install)\ntarball_release: 1.2.11\n"
        }
        return "tarball: none (engines from the host)\ntarball_release: 1.2.11\n"
    }
}
