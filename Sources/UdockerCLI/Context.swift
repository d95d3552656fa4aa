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
