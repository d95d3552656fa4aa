import ArgumentParser

/// Parses a command line by the one subcommand its command word names, not by the whole tree.
///
/// ArgumentParser reflects over a command's properties to build its argument set several times per parse, and a
/// parse from the root first tries the completion-script pseudo-commands: about 2 ms of `udocker run`'s start
/// (perf, docs/performance.md). A subcommand parsed on its own skips the tree, and skips the completion check
/// because every subcommand's configuration names its tool as `_superCommandName` (which ArgumentParser takes to
/// mean "completion is the super-command's business"). Anything the subcommand alone cannot parse (help requests,
/// usage errors, completion scripts) is parsed again from the root, so every message is what it always was.
enum CommandDispatch {
    static func parse(_ arguments: [String], root: ParsableCommand.Type) throws -> ParsableCommand {
        if let word = arguments.first, let subcommand = subcommand(named: word, of: root),
           let command = try? subcommand.parseAsRoot(Array(arguments.dropFirst())) {
            return command
        }
        return try root.parseAsRoot(arguments)
    }

    static func subcommand(named word: String, of root: ParsableCommand.Type) -> ParsableCommand.Type? {
        root.configuration.subcommands.first { $0.configuration.commandName == word }
    }
}
