import Foundation

/// What one `udocker-launch` invocation was asked for.
public struct LaunchRequest: Sendable {
    public enum StagePolicy: String, Sendable, CaseIterable {
        /// A SquashFS (an image's, or a published one) mounted where that works, else extracted; a container
        /// staged when its repository is on a network or parallel file system.
        case auto
        /// The SquashFS mounted straight from where it is (the node reads only the blocks it touches).
        case mount
        /// One sequential copy of the SquashFS into node-local scratch, then mounted.
        case copy
        /// The tree extracted into node-local scratch (`always` is the same).
        case extract
        case always
        case never

        public static func parse(_ text: String) throws -> StagePolicy {
            guard let policy = StagePolicy(rawValue: text.lowercased()) else {
                throw UdockerError(.invalidInput, "invalid --stage: \(text) (valid: auto mount copy extract always never)")
            }
            return policy
        }
    }

    /// Where a U1 run's writes outside its volumes go.
    public enum WritePolicy: String, Sendable {
        /// A writable layer of the namespace's own, in memory, gone with it.
        case layer
        /// None: a read-only root with tmpfs at /tmp, /var/tmp and /run.
        case none

        public static func parse(_ text: String) throws -> WritePolicy {
            guard let policy = WritePolicy(rawValue: text.lowercased()) else {
                throw UdockerError(.invalidInput, "invalid --write: \(text) (valid: layer none)")
            }
            return policy
        }
    }

    public var target: String
    public var options: RunOptions
    public var scratch: String?
    public var stage: StagePolicy = .auto
    public var write: WritePolicy = .layer
    public var stageTimeout: Double = 600
    public var execMode: ExecMode?
    /// U1: the node's ranks of one step share one namespace.
    public var join = true
    public var bind: RankPinning.Policy = .auto
    /// Remove the stage when the node's last rank using it has exited.
    public var cleanup = false
    /// Bind the host's NVIDIA driver; with `gpusPerRank` (or SLURM's --gpus-per-task) each local rank sees its own.
    public var gpu = false
    public var gpusPerRank: Int?
    /// Which MPI the rank uses: by default the host's when every ABI check passes, else the container's.
    public var mpi: MPIMode = .auto

    public init(target: String, options: RunOptions) { self.target = target; self.options = options }
}

/// A rank ready to start: the plan to exec and what was decided on the way (what `--dry-run` prints).
public struct LaunchPlan: Sendable {
    public var rank: RankContext
    public var target: String
    public var placement: String
    /// Where writes go, for a mounted image (`ImageMount.writes`).
    public var writes: String? = nil
    public var stage: StagedContainer?
    public var mode: LaunchModeChoice
    public var pinning: RankPinning.Plan
    /// CUDA_VISIBLE_DEVICES given to this rank, when the job gives each rank its own GPUs.
    public var gpus: String?
    public var nvidia: Bool
    /// The rank's nvidia.com/gpu CDI devices when a spec gives the driver (else the discovery does).
    public var nvidiaCDI: [CDIDeviceName]? = nil
    public var mpi: MPIDecision
    public var exec: ExecPlan

    public var report: String {
        var lines = ["rank: \(rank.rank) of \(rank.size), local \(rank.localRank) of \(rank.localSize) on \(rank.node) "
                     + "(\(rank.manager.rawValue)\(rank.jobID.map { ", job \($0)" } ?? "")\(rank.stepID.map { " step \($0)" } ?? ""))",
                     "target: \(target)", "placement: \(placement)"] + (writes.map { [$0] } ?? []) + ["mode: \(mode.mode.rawValue)"]
        lines += mode.reasons.map { "  " + $0 }
        lines.append("cpus: \(pinning.cpus.map(CPUSet.format) ?? "unchanged") (\(pinning.reason))")
        if let gpus { lines.append("gpus: CUDA_VISIBLE_DEVICES=\(gpus)") }
        if let devices = nvidiaCDI {
            lines.append("nvidia: by CDI, " + devices.map(\.description).joined(separator: " ")
                         + (exec.isolation?.sharing != nil ? " (the namespace binds the step's GPUs)" : ""))
        } else if nvidia {
            lines.append("nvidia: the host driver is bound at \(NvidiaBinding.libraryDirectory)")
        }
        lines += mpi.report
        if let sharing = exec.isolation?.sharing { lines.append("namespace: shared by the step's ranks on this node (\(sharing.key))") }
        else if exec.isolation != nil { lines.append("namespace: this rank's own") }
        lines.append("exec: " + exec.arguments.joined(separator: " "))
        return lines.joined(separator: "\n")
    }
}

/// The launcher's pipeline for one rank: learn where it runs, stage the container once per node, choose the
/// execution mode, pass the process manager's variables and rendezvous paths in, pin the rank, and build the
/// plan that the one exec path runs.
public struct Launcher: Sendable {
    public var repository: Repository
    public var tools: HostTools
    public var environment: [String: String]

    public init(repository: Repository, tools: HostTools, environment: [String: String]) {
        self.repository = repository; self.tools = tools; self.environment = environment
    }

    /// Where the rank's container comes from, decided (and staged) once per node.
    struct Placement {
        var source: RunPreparation.Source
        var description: String
        var stage: StagedContainer?
        var choice: LaunchModeChoice
        /// A dry run's stand-in for a stage not made (`StageProbe`), and where the stage would be.
        var probe: (StageProbe, stageDirectory: String)?
        /// A mounted image, the keeper that serves it (nil in a dry run or `stage`) and the namespace it is in.
        var mount: (image: ImageMount, keeper: pid_t?, sharing: NamespaceSharing?)?
        var writes: String?
    }

    /// With `dryRun`, the plan is only to be printed: nothing is staged, a stage not yet made is decided from a
    /// probe of the target's files (`StageProbe`), and the plan names the stage's path as a staged run would.
    public func prepare(_ request: LaunchRequest, dryRun: Bool = false) throws -> LaunchPlan {
        // Everything that can fail without the container's files fails here, before anything is staged.
        let rank = try RankContext.detect(environment)
        try LaunchPreflight(request: request, config: repository.config, tools: tools, environment: environment).check()
        // Read once for the rank: its GPU count, then its devices. (With --gpu, --nvidia or setup --nvidia.)
        let cdi = request.gpu || request.options.nvidia ? try CDIRankDevices.registry(request.options, environment: environment) : nil
        let gpus = try gpuShare(request, rank: rank, cdi: request.gpu ? cdi : nil)
        let area = try StageArea.choose(explicit: request.scratch, environment: environment)
        let placement = try place(request, rank: rank, area: area, dryRun: dryRun)
        defer { placement.probe?.0.remove() }
        var options = request.options
        options.mpi = request.mpi
        if let devices = gpus.devices { options.environment.insert("CUDA_VISIBLE_DEVICES=" + devices, at: 0) }
        options.nvidia = options.nvidia || request.gpu
        if request.gpu, let visible = gpus.devices, let cdi {
            try CDIRankDevices.assign(&options, registry: cdi, visible: visible,
                                      pool: NvidiaRankDevices.pool(gpuCount: gpus.count, environment: environment),
                                      sharedNamespace: request.join && rank.localSize > 1 && placement.choice.mode == .U1,
                                      ownDevDirectory: placement.choice.mode.family == .runc, environment: environment)
        }
        let pinning = try pin(request.bind, rank: rank, nearGPU: gpus.near)
        if let cpus = pinning.cpus { options.cpuSet = CPUSet.format(cpus) }

        let preparation = RunPreparation(store: ContainerStore(repository: repository), hostEnvironment: environment,
                                         sysDirs: repository.config.list("sysdirs_list"),
                                         inheritedDescriptors: OpenDescriptors.inheritableCount())
        var (run, plan) = try RunPlanner(preparation: preparation, config: repository.config, tools: tools)
            .plan(placement.source, mode: placement.choice.mode, options: options)
        if let (probe, stageDirectory) = placement.probe {
            plan.arguments = plan.arguments.map {
                $0.replacingOccurrences(of: probe.root, with: stageDirectory + "/ROOT").replacingOccurrences(of: probe.directory, with: stageDirectory)
            }
        }
        if let stage = placement.stage {
            plan.preparation.insert(.holdSharedLock(path: stage.inUseFile), at: 0)
            if plan.isolation != nil {
                plan.isolation?.writableLayer = stage.directory + "/.layer"
                plan.isolation?.readOnlyRoot = request.write == .none
                // The stage's ROOT is frozen: CDI hooks' links are made in the namespace's layer instead.
                plan.preparation.removeAll { step in
                    guard case .volumeLinks(let links) = step, links.record.hasSuffix("/" + CDIApplication.linksRecord) else { return false }
                    plan.isolation?.links = links.links
                    return true
                }
            }
            if request.cleanup { plan.preparation.append(.removeWhenUnlocked(directory: stage.directory, lock: stage.inUseFile)) }
        }
        if let mount = placement.mount {
            Self.runMounted(&plan, mount.image, view: mount.keeper.map(mount.image.view), sharing: mount.sharing)
        } else if request.join && rank.localSize > 1, let isolation = plan.isolation {
            plan.isolation?.sharing = NamespaceSharing(directory: area.locksDir, key: try Self.sharingKey(rank, isolation))
        }
        var launchPlan = LaunchPlan(rank: rank, target: request.target, placement: placement.description, writes: placement.writes, stage: placement.stage,
                                    mode: placement.choice, pinning: pinning, gpus: gpus.devices, nvidia: options.nvidia, mpi: run.mpi, exec: plan)
        if cdi != nil {
            let own = options.cdiDevices.filter { $0.kind == CDIRankDevices.nvidiaKind }
            launchPlan.nvidiaCDI = own.isEmpty ? [CDIDeviceName(kind: CDIRankDevices.nvidiaKind, name: "all")] : own
        }
        return launchPlan
    }

    /// The plan was made from the image as the keeper serves it (`view`): the rank joins the keeper's namespace,
    /// where the same tree is at the stage's ROOT.
    static func runMounted(_ plan: inout ExecPlan, _ image: ImageMount, view: String?, sharing: NamespaceSharing?) {
        if let view {
            plan.arguments = plan.arguments.map { $0.replacingOccurrences(of: view, with: image.stage.root) }
            plan.environment = plan.environment.map { $0.replacingOccurrences(of: view, with: image.stage.root) }
        }
        let keeper = image.keeperIsolation()
        plan.isolation?.root = keeper.root
        plan.isolation?.image = keeper.image
        plan.isolation?.writableLayer = keeper.writableLayer
        plan.isolation?.readOnlyRoot = keeper.readOnlyRoot
        plan.isolation?.sharing = sharing
    }

    /// `udocker-launch stage`: the staging and once-per-node set-up alone, with no command (a job script runs it
    /// with one task per node before its MPI step). Returns what `--dry-run` would say of the placement, and for
    /// an image a second line on its SquashFS.
    public func stage(_ request: LaunchRequest) throws -> String {
        let rank = try RankContext.detect(environment)
        var request = request
        let target = try resolve(request.target)
        // A container is staged by this command, wherever its repository is; an image or SquashFS as a run would.
        if case .container = target, request.stage == .auto { request.stage = .always }
        try LaunchPreflight(request: request, config: repository.config, tools: tools, environment: environment).check()
        // An image's SquashFS is built ahead of the job too, once per repository (SquashImageStore), whether this
        // node mounts or extracts it: a repository this user cannot write (a site's shared one) only says so.
        var squash = ""
        if case .image(let image) = target {
            do {
                let (path, built) = try SquashImageStore(repository: repository).ensure(image)
                squash = "\n" + (built ? "built the SquashFS " + path : "the SquashFS " + path + " (built before)")
            } catch let error as UdockerError {
                squash = "\nno SquashFS: \(error.description)"
            }
        }
        let placement = try place(request, rank: rank, area: try StageArea.choose(explicit: request.scratch, environment: environment),
                                  attach: false)
        return "\(placement.description), mode \(placement.choice.mode.rawValue)" + squash
    }

    /// `attach`: start (or find) the keeper that serves a mounted image, as a rank that runs from it does.
    func place(_ request: LaunchRequest, rank: RankContext, area: StageArea, dryRun: Bool = false, attach: Bool = true) throws -> Placement {
        let target = try resolve(request.target)
        var request = request
        let asked = request.execMode
        if request.execMode == nil, case .published(let published, _) = target, let mode = published.mode {
            request.execMode = try ExecMode.parse(mode)   // the mode it was published (and set up) for
        }
        // Probing the host costs a fork and a few file reads: only a rank that chooses a mode pays for it.
        let host = { LaunchModeChoice.HostFacts.current(tools: tools, config: repository.config) }
        // A volume at another path is never a link in a stage other jobs run from (LaunchModeChoice).
        if let mode = request.execMode, let refusal = LaunchModeChoice.refusal(mode, volumes: request.options.volumes,
                                                                                origin: asked == nil ? "the published container's mode \(mode.rawValue)" : "--execmode=\(mode.rawValue)") {
            throw UdockerError(.unsupported, refusal)
        }
        let linkless = request.execMode == nil ? try LaunchModeChoice.withoutLinks(volumes: request.options.volumes, host: host) : nil
        let stager = NodeStage(area: area, repository: repository, rank: rank, timeout: request.stageTimeout)
        var notMounted: String?
        if case .container = target {
            if request.stage == .mount || request.stage == .copy {
                throw UdockerError(.invalidInput, "--stage=\(request.stage.rawValue) needs an image or a published SquashFS: "
                                   + "a stored container is a tree (use --stage=always)")
            }
        } else {
            let (obstacle, squashfs) = mountObstacle(target, request: request, dryRun: dryRun)
            guard let obstacle else {
                return try placeMounted(target, squashfs: squashfs, request: request, rank: rank, area: area, stager: stager,
                                        dryRun: dryRun, attach: attach)
            }
            notMounted = obstacle
            if request.stage == .mount || request.stage == .copy, rank.rank == 0, !dryRun {
                Log.warning("--stage=\(request.stage.rawValue): cannot mount \(target.description): \(obstacle); extracting it instead")
            }
        }
        if let reason = try inPlaceReason(target, policy: request.stage) {
            guard case .container(let id) = target else { throw UdockerError(.internalError, "an image cannot run in place") }
            let choice = try request.execMode.map(Self.requested) ?? linkless
                ?? LaunchModeChoice.choose(root: repository.containerRoot(id), stateDir: repository.containerDir(id), host: host())
            return Placement(source: .container(id: id), description: "in place (\(reason))", stage: nil, choice: choice)
        }
        // A stage is never changed once finished (other ranks, other jobs run from it): a mode asked for with
        // --execmode gets a stage set up for it, unless the node's stage was set up for that mode anyway.
        let baseKey = try target.stageKey(repository: repository)
        var key = baseKey
        let wanted = request.execMode ?? linkless?.mode
        if let requested = wanted, stager.finished(baseKey).flatMap(Self.recordedChoice)?.mode != requested {
            key += "-" + requested.rawValue
        }
        let because = notMounted.map { " (not mounted: \($0))" } ?? ""
        if dryRun {
            var placement = try decideWithoutStaging(target, key: key, stager: stager, request: request, linkless: linkless, host: host)
            placement.description += because
            return placement
        }
        var made = false
        let staged = try stager.ensure(target, key: key) { staged in
            made = true
            try finish(staged, host: host(), requested: wanted)
        }
        let choice = try request.execMode.map(Self.requested) ?? linkless ?? Self.recordedChoice(staged)
            ?? LaunchModeChoice.choose(root: staged.root, stateDir: staged.directory, host: host())
        return Placement(source: .stage(directory: staged.directory),
                         description: (made ? "staged in " : "reused the stage in ") + staged.directory + because, stage: staged, choice: choice)
    }

    /// Why an image or published SquashFS is not run mounted here (nil: it is), and for an image the path of its
    /// repository SquashFS, built by the first rank that needs it (the others only `stat` it; a dry run builds
    /// nothing).
    func mountObstacle(_ target: LaunchTarget, request: LaunchRequest, dryRun: Bool) -> (String?, squashfs: String?) {
        if let obstacle = ImageMount.obstacle(target, request: request, userNamespaceFailure: { UserNamespaceProbe.failure() }) {
            return (obstacle, nil)
        }
        guard case .image(let image) = target else { return (nil, nil) }
        let store = SquashImageStore(repository: repository)
        do {
            return (nil, dryRun ? try store.path(for: image) : try store.ensure(image).path)
        } catch {
            return ("cannot build its SquashFS in the repository: \(error)", nil)
        }
    }

    /// U1 from the SquashFS mounted by the step's keeper on this node (ImageMount): the node's stage holds only
    /// the metadata, made once per node; the rank plans from the image as the keeper serves it.
    func placeMounted(_ target: LaunchTarget, squashfs: String?, request: LaunchRequest, rank: RankContext, area: StageArea,
                      stager: NodeStage, dryRun: Bool, attach: Bool) throws -> Placement {
        let key = ImageMount.key(try target.stageKey(repository: repository), policy: request.stage)
        let readOnly = request.write == .none
        let how = request.stage == .copy ? "copied to this node, then mounted" : "mounted where it is"
        let choice = LaunchModeChoice(mode: .U1, reasons: ["F3: the SquashFS is mounted (FUSE, served in the step's namespace on this "
                                                           + "node), which only U1 runs; F3 needs its tree extracted (--stage=extract)",
                                                           "U1: chosen"])
        let writes = ImageMount.writes(readOnly: readOnly)
        if dryRun {
            // The tree is read from a probe (the stage, if any, holds no tree), and nothing is mounted.
            let probe = try StageProbe.make(target, repository: repository, area: stager.area)
            let file = squashfs ?? target.description
            let built = squashfs.map { FileSystem.isFile($0) ? "" : " (built first, once for the repository)" } ?? ""
            let image = ImageMount(file: file, stage: StagedContainer(key: key, directory: stager.area.stageDir(key)), readOnly: readOnly)
            return Placement(source: .stage(directory: probe.directory),
                             description: "would mount \(file)\(built) (\(how)); nothing mounted: decided from \(probe.source)",
                             stage: nil, choice: choice, probe: (probe, image.stage.directory),
                             mount: (image, nil, try image.sharing(rank, area: area, options: request.options)), writes: writes)
        }
        var made = false
        let staged = try stager.ensure(target, key: key, populate: { directory in
            try ImageMount.populate(directory, from: target, squashfs: squashfs, scratch: area.scratch, copy: request.stage == .copy)
        }, finish: { _ in made = true })
        let image = try ImageMount.open(staged, readOnly: readOnly)
        let description = (made ? "mounted " : "mounted (stage reused) ") + image.file + " (\(how)) for the stage \(staged.directory)"
        guard attach else {
            return Placement(source: .stage(directory: staged.directory), description: description, stage: staged, choice: choice,
                             mount: (image, nil, nil), writes: writes)
        }
        let sharing = try image.sharing(rank, area: area, options: request.options)
        var isolation = image.keeperIsolation()
        isolation.sharing = sharing
        let keeper = try SharedNamespace.attach(isolation, sharing)
        return Placement(source: .stage(directory: staged.directory, root: image.view(keeper: keeper)),
                         description: description + ", served by pid \(keeper)", stage: staged, choice: choice,
                         mount: (image, keeper, sharing), writes: writes)
    }

    /// A dry run's placement: from the node's finished stage when there is one (held, only read), else from a
    /// probe of the target's files, saying what would be staged where.
    func decideWithoutStaging(_ target: LaunchTarget, key: String, stager: NodeStage, request: LaunchRequest,
                              linkless: LaunchModeChoice?, host: () -> LaunchModeChoice.HostFacts) throws -> Placement {
        var stage = StagedContainer(key: key, directory: stager.area.stageDir(key))
        if let hold = try StageHold.take(stage) {
            stage.hold = hold
            let choice = try request.execMode.map(Self.requested) ?? linkless ?? Self.recordedChoice(stage)
                ?? LaunchModeChoice.choose(root: stage.root, stateDir: stage.directory, host: host())
            return Placement(source: .stage(directory: stage.directory), description: "would reuse the stage in " + stage.directory,
                             stage: stage, choice: choice)
        }
        let probe = try StageProbe.make(target, repository: repository, area: stager.area)
        do {
            let choice = try request.execMode.map(Self.requested) ?? linkless
                ?? LaunchModeChoice.choose(root: probe.root, stateDir: probe.directory, host: host())
            let size = probe.stagedSize.map { " (\($0))" } ?? ""
            return Placement(source: .stage(directory: probe.directory),
                             description: "would stage \(target.description) into \(stage.directory)\(size); nothing staged: "
                                 + "decided from \(probe.source)",
                             stage: nil, choice: choice, probe: (probe, stage.directory))
        } catch {
            probe.remove()
            throw error
        }
    }

    /// A container by id or name, else an image in the repository (the launcher never pulls: 64 ranks would).
    func resolve(_ name: String) throws -> LaunchTarget {
        if PublishedContainer.isPublishedPath(name) {
            let (published, archive) = try PublishedContainer.open(name)
            return .published(published, archive: archive)
        }
        if let id = try? ContainerStore(repository: repository).resolve(name) { return .container(id: id) }
        guard let reference = try? ImageReference.parse(name) else {
            throw UdockerError(.notFound, "no container or image named \(name) in \(repository.topDir)")
        }
        guard let image = try? ImageStore(repository: repository).image(reference) else {
            throw UdockerError(.notFound, "no container or image named \(name) in \(repository.topDir) (udocker pull \(name) first)")
        }
        return .image(image)
    }

    /// nil when the target is to be staged.
    func inPlaceReason(_ target: LaunchTarget, policy: LaunchRequest.StagePolicy) throws -> String? {
        switch (target, policy) {
        case (.image, .never):
            throw UdockerError(.invalidInput, "--stage=never needs a container: an image has no file tree until it is staged (or `udocker create` it)")
        case (.published, .never):
            throw UdockerError(.invalidInput, "--stage=never needs a container: a published container runs from its stage")
        case (.image, _), (.published, _), (.container, .always), (.container, .extract), (.container, .mount), (.container, .copy):
            return nil
        case (.container, .never):
            return "--stage=never"
        case (.container, .auto):
            let kind = FileSystemKind.of(repository.containersDir)
            return kind.isShared ? nil : "the repository is on node-local \(kind.name)"
        }
    }

    /// Once per node, by the staging rank: choose the mode for this host and do its set-up at the stage's
    /// fixed path (F-mode patching names that path), so no rank patches anything.
    func finish(_ staged: StagedContainer, host: LaunchModeChoice.HostFacts, requested: ExecMode?) throws {
        let choice = try LaunchModeChoice.choose(root: staged.root, stateDir: staged.directory, host: host)
        try FileSystem.atomicWrite(try JSONEncoder().encode(choice), to: staged.directory + "/" + Self.choiceFile)
        let mode = requested ?? choice.mode
        if mode.family == .fakechroot {
            try ModeSetup(tools: tools).apply(mode, containerDir: staged.directory, root: staged.root, force: true,
                                              lock: staged.directory + "/.lock")
        }
        try ReadOnlyStage.finish(directory: staged.directory, root: staged.root, mode: mode)
    }

    static let choiceFile = "launch.mode"

    static func recordedChoice(_ staged: StagedContainer) -> LaunchModeChoice? {
        (try? FileSystem.read(staged.directory + "/" + choiceFile)).flatMap { try? JSONDecoder().decode(LaunchModeChoice.self, from: $0) }
    }

    static func requested(_ mode: ExecMode) -> LaunchModeChoice {
        LaunchModeChoice(mode: mode, reasons: ["\(mode.rawValue): requested with --execmode"])
    }

    func pin(_ policy: RankPinning.Policy, rank: RankContext, nearGPU: [Int]?) throws -> RankPinning.Plan {
        guard policy != .none else { return RankPinning.unpinned }
        // hwloc's discovery costs milliseconds: the only rank of a node has nothing to share out.
        if policy == .auto && rank.localSize <= 1 && nearGPU == nil {
            return RankPinning.Plan(cpus: nil, reason: "the only rank on this node: not pinned")
        }
        let topology = try HostTopology.discover()
        return RankPinning.plan(policy, topology: topology, inherited: LinuxCalls.affinity() ?? topology.processingUnits,
                                localRank: rank.localRank, localSize: rank.localSize, nearGPU: nearGPU)
    }

    /// With --gpu: the rank's CUDA_VISIBLE_DEVICES when the job gives each rank its own GPUs, and the cores
    /// nearest the first of them (for --bind=gpu). GPUs are numbered in PCI bus order, as nvidia-smi does.
    func gpuShare(_ request: LaunchRequest, rank: RankContext, cdi: CDIRegistry?) throws -> (devices: String?, near: [Int]?, count: Int) {
        guard request.gpu || request.bind == .gpu else { return (nil, nil, 0) }
        let gpus = try HostTopology.nvidiaGPUs()
        // GPUs hwloc cannot see (no PCI access) are counted from a CDI spec's nvidia.com/gpu devices.
        let count = max(gpus.count, cdi.map(CDIRankDevices.indexedDevices)?.count ?? 0)
        let devices = request.gpu ? try NvidiaRankDevices.visibleDevices(localRank: rank.localRank, gpusPerRank: request.gpusPerRank,
                                                                          gpuCount: count, environment: environment) : nil
        let first = (devices ?? environment["CUDA_VISIBLE_DEVICES"])?.split(separator: ",").first.flatMap { Int($0) }
        let near = first.flatMap { $0 < gpus.count ? gpus[$0].processingUnits : nil }
        return (devices, near, count)
    }

    /// Ranks share a namespace only with ranks of the same step that would have made the same one.
    static func sharingKey(_ rank: RankContext, _ isolation: Isolation) throws -> String {
        var text = rank.stepKey + "\n" + isolation.root + "\n\(isolation.uid ?? getuid()):\(isolation.gid ?? getgid())\n"
        for bind in isolation.binds { text += "\(bind.source)\t\(bind.target)\t\(bind.readOnly)\n" }
        return String((try Digest.sha256(Data(text.utf8)).split(separator: ":").last ?? "").prefix(20))
    }
}
