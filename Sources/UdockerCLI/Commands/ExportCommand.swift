import ArgumentParser
import UdockerCore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", _superCommandName: "udocker",
        abstract: "Write a container's files (or, with --clone, the whole container) as a tar.")

    @Option(name: .customShort("o"), help: ArgumentHelp("The tarball to create; `-` or none writes standard output.", valueName: "file")) var output: String?
    @Flag(name: .customLong("clone"), help: "Export in udocker's clone format, for `import --clone`.") var clone = false
    @Argument(help: "`-` for standard output, then the container id or name.") var arguments: [String] = []

    func run() throws {
        var rest = arguments
        var file = output
        if rest.first == "-" && rest.count == 2 {
            file = "-"
            rest.removeFirst()
        }
        guard rest.count == 1 else { throw ValidationError("export needs one container id or name") }
        let containers = try Context.get().containers
        let id = try containers.resolve(rest[0])
        let target = TarOutput(file)
        if case .file(let path) = target { Log.info("exporting to file \(path)") }
        try ContainerTransfer(store: containers).export(id, to: target, clone: clone)
    }
}
