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
    @Flag(name: .customLong("cdi"), help: "With --nvidia and no container: write a CDI spec for nvidia.com/gpu from the driver discovery.")
    var cdi = false
    @Option(name: .customLong("cdi-spec"), help: "Where --cdi writes the spec (default: ~/.udocker/cdi/nvidia.yaml, or $UDOCKER_DIR/cdi/nvidia.yaml).")
    var cdiSpec: String?
    @Argument(help: "Container id or name.") var container: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        if cdi || cdiSpec != nil {
            guard nvidia, container == nil, execmode == nil, !(force || purge || fixperm) else {
                throw UdockerError(.invalidInput, "setup --cdi writes a host's spec: use it as `setup --nvidia --cdi [--cdi-spec=FILE]`, with no container")
            }
            guard let path = cdiSpec ?? NvidiaCDISpec.defaultPath(environment: environment) else {
                throw UdockerError(.invalidInput, "setup --nvidia --cdi: no HOME or UDOCKER_DIR for the default spec path; give --cdi-spec=FILE")
            }
            try NvidiaCDISpec.write(to: path, roots: .host(environment: environment),
                                    identity: ElfIdentity(path: "/proc/self/exe") ?? ElfIdentity(elfClass: 2, byteOrder: 1, machine: 62))
            return
        }
        guard let container else { throw ValidationError("Missing expected argument '<container>'") }
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
        if nvidia { try NvidiaBinding.record(containerDir: containerDir, root: root, roots: .host(environment: environment)) }
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
