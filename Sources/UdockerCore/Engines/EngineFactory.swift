import Foundation

/// Maps an execution mode to a configured engine, locating the host tools it drives.
/// This is host discovery's hand-off point: engines receive paths, never search for them.
public struct EngineFactory: Sendable {
    public var config: Config
    public var tools: ToolLocator

    public init(config: Config, tools: ToolLocator) {
        self.config = config
        self.tools = tools
    }

    public func engine(for mode: ExecMode) throws -> any Engine {
        switch mode.family {
        case .proot:
            guard let proot = tools.find(["proot"], override: config["use_proot_executable"]) else {
                throw UdockerError(.notFound, "proot executable not found (install proot or set UDOCKER_USE_PROOT_EXECUTABLE)")
            }
            var hostEnv: [String] = []
            hostEnv.append("PROOT_TMP_DIR=" + (ProcessInfo.processInfo.environment["PROOT_TMP_DIR"] ?? config.tmpDir))
            return ProotEngine(proot: proot, hostEnvironment: hostEnv, debug: Log.isEnabled(.debug))
        default:
            throw UdockerError(.unsupported, "execution mode \(mode.rawValue) is not available in this build")
        }
    }
}

/// The execution mode of a container: `containers/<id>/execmode`, else the configured default.
public struct ExecModeStore: Sendable {
    public var repository: Repository

    public init(repository: Repository) { self.repository = repository }

    public func mode(of id: String) throws -> ExecMode {
        let file = repository.containerFile(id, .execMode)
        if let text = try? FileSystem.readString(file).trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            return try ExecMode.parse(text)
        }
        return try defaultMode()
    }

    public func defaultMode() throws -> ExecMode {
        try ExecMode.parse(repository.config["override_default_execution_mode"]
                           ?? repository.config["default_execution_mode"] ?? "P1")
    }

    public func setMode(_ mode: ExecMode, of id: String) throws {
        try FileSystem.atomicWrite(mode.rawValue, to: repository.containerFile(id, .execMode))
    }
}
