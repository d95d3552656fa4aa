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

    /// Sets the rank's CDI GPUs in `options` for its share `visible` (CUDA_VISIBLE_DEVICES's value) of `pool`.
    /// `sharedNamespace`: the other GPUs of the pool are bound too. `ownDevDirectory`: the container's /dev is
    /// its runtime's (R modes), where only its own GPUs appear, numbered from 0 as CUDA sees them: there the
    /// host's numbering in CUDA_VISIBLE_DEVICES would be wrong and is dropped.
    public static func assign(_ options: inout RunOptions, registry: CDIRegistry, visible: String, pool: [String],
                              sharedNamespace: Bool, ownDevDirectory: Bool) throws {
        func device(_ index: String) throws -> CDIDeviceName {
            let name = CDIDeviceName(kind: nvidiaKind, name: index)
            guard registry.deviceNames(kind: nvidiaKind).contains(index) else {
                throw UdockerError(.notFound, "GPU \(index) has no CDI device \(name) (the specs define "
                                   + registry.deviceNames(kind: nvidiaKind).joined(separator: " ") + ")")
            }
            return name
        }
        let own = try visible.split(separator: ",").map { try device(String($0)) }
        options.cdiDevices.removeAll { $0.kind == nvidiaKind }
        options.cdiDevices += own
        if sharedNamespace {
            options.cdiStepDevices = try pool.filter { index in !own.contains { $0.name == index } }.map(device)
        } else if ownDevDirectory {
            options.environment.removeAll { $0 == "CUDA_VISIBLE_DEVICES=" + visible }
        }
    }
}
