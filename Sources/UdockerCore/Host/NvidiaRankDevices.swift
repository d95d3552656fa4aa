import Foundation

/// Which GPUs each rank of a job sees: the CUDA_VISIBLE_DEVICES a local rank gets when the job gives every rank
/// its own GPUs (SLURM's --gpus-per-task, or the launcher's --gpus-per-rank N). Pure: the launcher passes the
/// rank's environment and the host's GPU count.
public enum NvidiaRankDevices {
    /// The value of CUDA_VISIBLE_DEVICES for local rank `localRank`, or nil to leave the rank's as it is (no
    /// per-rank share asked for). The pool is what the step may use: CUDA_VISIBLE_DEVICES (numbered as the
    /// step sees them, e.g. inside SLURM's device cgroup), else SLURM_STEP_GPUS, else every GPU of the host.
    /// Rank r gets the pool's entries r·N ..< (r+1)·N. A pool of exactly N is already this rank's share
    /// (SLURM binds per task with --gpus-per-task), and is kept.
    public static func visibleDevices(localRank: Int, gpusPerRank: Int?, gpuCount: Int,
                                      environment: [String: String]) throws -> String? {
        // --gpus-per-task=[type:]N
        let perTask = environment["SLURM_GPUS_PER_TASK"].flatMap { $0.split(separator: ":").last.flatMap { Int($0) } }
        guard let share = gpusPerRank ?? perTask else { return nil }
        guard share > 0, localRank >= 0 else {
            throw UdockerError(.invalidInput, "GPUs per rank must be at least 1 (got \(share))")
        }
        let pool = pool(gpuCount: gpuCount, environment: environment)
        if pool.count == share { return pool.joined(separator: ",") }
        let first = localRank * share
        guard first + share <= pool.count else {
            throw UdockerError(.invalidInput, "local rank \(localRank) needs GPUs \(first)-\(first + share - 1) of the node, "
                               + "but only \(pool.count) are visible (\(pool.isEmpty ? "none" : pool.joined(separator: ",")))")
        }
        return pool[first..<(first + share)].joined(separator: ",")
    }

    /// The GPUs the step may use: CUDA_VISIBLE_DEVICES, else SLURM_STEP_GPUS, else every GPU of the host.
    public static func pool(gpuCount: Int, environment: [String: String]) -> [String] {
        func list(_ variable: String) -> [String]? {
            environment[variable].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                .flatMap { $0.isEmpty || $0 == ["NoDevFiles"] ? nil : $0 }
        }
        return list("CUDA_VISIBLE_DEVICES") ?? list("SLURM_STEP_GPUS") ?? (0..<gpuCount).map(String.init)
    }
}
