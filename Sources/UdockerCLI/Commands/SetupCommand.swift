import ArgumentParser
import UdockerCore

struct SetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "setup", abstract: "Show or change a container's execution mode.")
    @Option(name: .customLong("execmode"), help: "Execution mode: P1 P2 F1 F2 F3 F4 R1 R2 R3 S1 U1.") var execmode: String?
    @Flag(name: .customLong("force"), help: "Redo the mode's set-up even if already done.") var force = false
    @Flag(name: .customLong("purge"), help: "Remove what udocker added to the container.") var purge = false
    @Flag(name: .customLong("fixperm"), help: "Make every file owner-writable again.") var fixperm = false
    @Flag(name: .customLong("nvidia"), help: "Add the host's NVIDIA libraries.") var nvidia = false
    @Argument(help: "Container id or name.") var container: String

    func run() throws {
        let context = try Context.get()
        let id = try context.containers.resolve(container)
        let modes = ExecModeStore(repository: context.repository)
        guard let execmode else {
            Output.stdout("execmode: \(try modes.mode(of: id).rawValue)\n")
            return
        }
        let mode = try ExecMode.parse(execmode)
        guard mode.family == .proot else {
            throw UdockerError(.unsupported, "execution mode \(mode.rawValue) is not available in this build")
        }
        try modes.setMode(mode, of: id)
    }
}
