import Foundation

/// The launcher's `--gpu` over CDI: when a spec defines nvidia.com/gpu devices, a rank given its own GPUs
/// (NvidiaRankDevices: `--gpus-per-rank`, SLURM's `--gpus-per-task`) gets the CDI devices of those GPUs, named as
/// `nvidia-ctk cdi generate` names them by index (`nvidia.com/gpu=1`). In a U1 namespace that the step's ranks
/// share, every rank binds all the step's GPUs (one namespace must serve them all), and only its own devices'
/// env and CUDA_VISIBLE_DEVICES select its share: the case pyxis#73 gets wrong.
public enum CDIRankDevices {
    public static let nvidiaKind = "nvidia.com/gpu"

    /// The GPUs by index that the specs define (the pool's size when the host's GPUs cannot be counted).
    public static func indexedDevices(_ registry: CDIRegistry) -> [String] {
        registry.deviceNames(kind: nvidiaKind).filter { Int($0) != nil }
    }

    /// The registry for these run options, or nil when no spec defines nvidia.com/gpu.
    public static func registry(_ options: RunOptions, environment: [String: String]) throws -> CDIRegistry? {
        let registry = try CDIRegistry.load(directories: CDIRegistry.directories(explicit: options.cdiSpecDirs, environment: environment))
        return registry.hasKind(nvidiaKind) ? registry : nil
    }

    /// Sets the rank's CDI GPUs in `options` for its share `visible` (CUDA_VISIBLE_DEVICES's value) of `pool`,
    /// both numbered as the step sees them (see `specNames`). `sharedNamespace`: every GPU of the pool is bound,
    /// in the pool's order, so that all the step's ranks make the same namespace. `ownDevDirectory`: the
    /// container's /dev is its runtime's (R modes), where only its own GPUs appear, numbered from 0 as CUDA sees
    /// them: CUDA_VISIBLE_DEVICES is renumbered so (the host's numbers would select nothing or the wrong GPU).
    public static func assign(_ options: inout RunOptions, registry: CDIRegistry, visible: String, pool: [String],
                              sharedNamespace: Bool, ownDevDirectory: Bool, environment: [String: String]) throws {
        let defined = registry.deviceNames(kind: nvidiaKind)
        func devices(_ entries: [String]) throws -> [CDIDeviceName] {
            try specNames(entries, environment: environment).map { name in
                let device = CDIDeviceName(kind: nvidiaKind, name: name)
                guard defined.contains(name) else {
                    throw UdockerError(.notFound, "GPU \(name) has no CDI device \(device) (the specs define \(defined.joined(separator: " ")))")
                }
                return device
            }
        }
        let shareEntries = visible.split(separator: ",").map(String.init)
        let own = try devices(shareEntries)
        options.cdiDevices.removeAll { $0.kind == nvidiaKind }
        options.cdiDevices += own
        if sharedNamespace {
            options.cdiStepDevices = try devices(pool)
        } else if ownDevDirectory {
            options.environment.removeAll { $0 == "CUDA_VISIBLE_DEVICES=" + visible }
            options.environment.insert("CUDA_VISIBLE_DEVICES=" + (0..<shareEntries.count).map(String.init).joined(separator: ","), at: 0)
        }
    }

    /// The spec's names of GPUs numbered as the step sees them. The specs name GPUs by the host's index (as
    /// nvidia-smi numbers them) or UUID. Under SLURM's device cgroup CUDA_VISIBLE_DEVICES counts the step's GPUs
    /// from 0 while SLURM_STEP_GPUS has their host indices, entry for entry; where the two lists differ in
    /// length, or SLURM_STEP_GPUS is absent, the entries are the host's already.
    public static func specNames(_ entries: [String], environment: [String: String]) -> [String] {
        func list(_ name: String) -> [String] {
            (environment[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let step = list("CUDA_VISIBLE_DEVICES"), host = list("SLURM_STEP_GPUS")
        guard !step.isEmpty, step.count == host.count else { return entries }
        return entries.map { entry in step.firstIndex(of: entry).map { host[$0] } ?? entry }
    }
}
