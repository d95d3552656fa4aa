import Foundation

/// The fixed start-up pipeline of `run` (and of the auto-mode probes): resolve options and metadata into a
/// ContainerRun, bring the container's files to what the mode needs, choose the engine, build the plan.
/// Running the plan is left to the caller (Executor.exec, or ChildRun for --rm and probes).
public struct RunPlanner: Sendable {
    public var preparation: RunPreparation
    public var config: Config
    public var tools: HostTools

    public init(preparation: RunPreparation, config: Config, tools: HostTools) {
        self.preparation = preparation; self.config = config; self.tools = tools
    }

    var repository: Repository { preparation.store.repository }

    public func plan(_ source: RunPreparation.Source, mode: ExecMode, options: RunOptions) throws -> (ContainerRun, ExecPlan) {
        let run = try preparation.prepare(source, mode: mode, options: options)
        // A launcher stage was set up for its mode once, when it was staged, and is never changed after (F4, which
        // patches new programs before each run, still does).
        if !source.isStage || mode == .F4 { try ModeSetup(tools: tools).prepareRun(run, lock: lock(for: source, run: run)) }
        var plan = try EngineFactory(config: config, tools: tools).engine(for: run).plan(run)
        // Every run, so that one without CDI links removes those an earlier run made.
        plan.preparation += (run.cdi ?? CDIApplication()).preparation(root: run.root, containerDir: run.containerDir)
        return (run, plan)
    }

    func lock(for source: RunPreparation.Source, run: ContainerRun) -> String {
        switch source {
        case .container(let id): return repository.lockPath("container-" + id)
        case .location, .stage: return run.containerDir + "/.lock"
        }
    }

    /// Whether the container runs in udocker 1.3's default P1 only because no mode was set or configured.
    public func isAtDefaultP1(_ id: String) throws -> Bool {
        guard (FileSystem.readValue(repository.containerFile(id, .execMode)) ?? "").isEmpty else { return false }
        return try ExecModeStore(repository: repository).defaultSetting() == .mode(.P1)
    }

    /// A run of a container at the default P1 (`isAtDefaultP1`): where P1 cannot run it here, one warning and
    /// the fastest mode that can (`DefaultModeFallback`); where none can, P1's own refusal.
    public func planAtDefaultP1(_ id: String, name: String, options: RunOptions) throws -> (ContainerRun, ExecPlan) {
        do {
            return try plan(.container(id: id), mode: .P1, options: options)
        } catch let error as UdockerError where DefaultModeFallback.isIncapable(error, tools: tools) {
            let factory = EngineFactory(config: config, tools: tools)
            guard let mode = DefaultModeFallback.candidates.first(where: { DefaultModeFallback.obstacle($0, factory: factory) == nil }) else {
                throw error
            }
            Log.warning(DefaultModeFallback.notice(error, using: mode, container: name))
            return try plan(.container(id: id), mode: mode, options: options)
        }
    }

    /// The mode a run uses: the container's setting, with `auto` answered from the cache or by probing.
    public func mode(for id: String) throws -> ExecMode {
        switch try ExecModeStore(repository: repository).setting(of: id) {
        case .mode(let mode): return mode
        case .auto: return try autoVerdict(for: id, refresh: false).mode
        }
    }

    public func autoVerdict(for id: String, refresh: Bool) throws -> AutoMode.Verdict {
        let cache = repository.containerFile(id, .autoMode)
        if !refresh, let verdict = AutoMode.cachedVerdict(cache) { return verdict }
        let verdict = try AutoMode.choose(cache: cache) { mode in
            var options = RunOptions()
            options.command = ["true"]
            options.noMeta = true
            options.noBanner = true
            let (_, plan) = try self.plan(.container(id: id), mode: mode, options: options)
            return try ChildRun.run(plan, silent: true)
        }
        for reason in verdict.reasons { Log.debug("auto: " + reason) }
        Log.debug("auto: chose \(verdict.mode.rawValue)")
        return verdict
    }
}
