import Foundation
import UdockerCore

/// What every command works with: the configuration and the repository, made once per invocation from the
/// general options and the environment.
struct Context: Sendable {
    let options: GlobalOptions
    let config: Config
    let repository: Repository

    var images: ImageStore { ImageStore(repository: repository) }
    var containers: ContainerStore { ContainerStore(repository: repository) }
    /// The host tools engines and mode set-up drive, found once per use through the repository's bin/ and PATH.
    var hostTools: HostTools {
        HostTools(locator: ToolLocator(repositoryBin: repository.binDir), config: config, libDir: repository.libDir)
    }

    /// After a container was copied under a new id (clone, import --clone): an F mode's patches name the old ROOT,
    /// so the mode's set-up is redone for the new one, as udocker 1.3 does.
    func redoPathDependentSetup(of id: String) throws {
        let mode = try ExecModeStore(repository: repository).mode(of: id)
        guard mode.family == .fakechroot else { return }
        let root = RunPreparation.realPath(repository.containerRoot(id))
        try ModeSetup(tools: hostTools).apply(mode, containerDir: repository.containerDir(id), root: root, force: true,
                                              lock: repository.lockPath("container-" + id))
    }

    /// Removes the temporaries of commands that were killed (their owners provably gone), and blobs that such a
    /// command moved in without a tag to link them.
    func reclaimAbandoned() {
        containers.reclaimAbandoned()
        images.reclaimAbandoned()
    }

    /// Set by `UdockerMain` before the command runs.
    nonisolated(unsafe) static var current: Context?

    static func get() throws -> Context {
        guard let current else { throw UdockerError(.internalError, "no context") }
        return current
    }

    static func make(_ options: GlobalOptions, environment: [String: String] = ProcessInfo.processInfo.environment,
                     createRepository: Bool = true) throws -> Context {
        var config = try Config.load(environment: environment, configFile: options.configFile,
                                     topDirOverride: options.repo.map(Paths.absolute))
        if options.insecure { config["http_insecure"] = "true" }
        Log.level = options.debug ? .debug : options.quiet ? .message : config.verbosity
        let repository = Repository(config: config)
        if createRepository && !repository.exists {
            if options.repo != nil {
                throw UdockerError(.notFound, "invalid udocker repository: \(options.repo!)")
            }
            Log.verbose("creating repo: \(repository.topDir)")
            try repository.create()
        }
        return Context(options: options, config: config, repository: repository)
    }
}
