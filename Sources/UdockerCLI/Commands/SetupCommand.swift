import ArgumentParser
import Foundation
import UdockerCore

struct SetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup", _superCommandName: "udocker",
        abstract: "Show or change a container's execution mode.")
    @Option(name: .customLong("execmode"), help: "Execution mode: P1 P2 F1 F2 F3 F4 R1 R2 R3 S1 U1, or auto.") var execmode: String?
    @Flag(name: .customLong("force"), help: "Redo the mode's set-up even if already done (e.g. after moving the container).") var force = false
    @Flag(name: .customLong("purge"), help: "Remove what udocker added to the container.") var purge = false
    @Flag(name: .customLong("fixperm"), help: "Make every file owner-writable again.") var fixperm = false
    @Flag(name: .customLong("nvidia"), help: "Bind the host's NVIDIA driver at every run.") var nvidia = false
    @Argument(help: "Container id or name.") var container: String

    func run() throws {
        let context = try Context.get()
        let id = try context.containers.resolve(container)
        let repository = context.repository
        let modes = ExecModeStore(repository: repository)
        let tools = context.hostTools
        let root = RunPreparation.realPath(repository.containerRoot(id))
        let containerDir = repository.containerDir(id)
        let lock = repository.lockPath("container-" + id)
        let setup = ModeSetup(tools: tools)

        if purge { try setup.purge(containerDir: containerDir, root: root, lock: lock) }
        if fixperm { ModeSetup.fixPermissions(root: root) }
        if nvidia { try NvidiaBinding.record(containerDir: containerDir, root: root, roots: .host(environment: ProcessInfo.processInfo.environment)) }
        guard let execmode else {
            if !(purge || fixperm || nvidia) || force {
                Output.stdout("execmode: \(try modes.mode(of: id).rawValue)\n")
                Output.stdout("nvidiamode: \(NvidiaBinding.isRecorded(containerDir: containerDir) ? "True" : "False")\n")
            }
            if force { try setup.apply(try modes.mode(of: id), containerDir: containerDir, root: root, force: true, lock: lock) }
            return
        }
        let mode: ExecMode
        switch try ExecModeStore.parse(execmode) {
        case .mode(let chosen):
            mode = chosen
        case .auto:
            let preparation = RunPreparation(store: context.containers, sysDirs: context.config.list("sysdirs_list"))
            let verdict = try RunPlanner(preparation: preparation, config: context.config, tools: tools).autoVerdict(for: id, refresh: true)
            mode = verdict.mode
            Log.info("auto: execmode \(mode.rawValue)")
        }
        try setup.apply(mode, containerDir: containerDir, root: root, force: force, lock: lock)
        try modes.setMode(mode, of: id)
    }
}
