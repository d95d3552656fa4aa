import Foundation
import Testing
import TestSupport

/// A node as the launcher sees it in these tests: a sandbox (its repository plays the shared file system), a
/// node-local scratch directory, and `udocker-launch` run as the unprivileged test user.
struct LaunchNode {
    let sandbox: Sandbox
    let scratch: String

    init(_ label: String = #function) throws {
        sandbox = try Sandbox(label)
        scratch = try sandbox.makeDirectory("scratch")
    }

    var launcher: String { sandbox.staging.udockerLaunch }
    /// The per-user directory the launcher keeps in scratch.
    var area: String { scratch + "/udocker-\(sandbox.user.uid)" }
    var stageLog: [String] { ((try? Files.read(area + "/stage.log")) ?? "").split(separator: "\n").map(String.init) }
    /// Finished stages and leftovers (hidden names) in the stage area.
    var stages: [String] { Files.list(area + "/stages") }

    /// `udocker-launch --scratch=SCRATCH ARGUMENTS` as the test user, with `env` added.
    @discardableResult
    func launch(_ arguments: [String], env: [String: String] = [:], timeout: Duration = .seconds(120)) throws -> CommandResult {
        try sandbox.run([launcher, "--scratch=" + scratch] + arguments, env: env, timeout: timeout)
    }

    func start(_ arguments: [String], env: [String: String] = [:], timeout: Duration = .seconds(120)) throws -> RunningCommand {
        try Command.start([launcher, "--scratch=" + scratch] + arguments, env: sandbox.environment.merging(env) { $1 },
                          as: sandbox.user, directory: sandbox.home, timeout: timeout)
    }

    /// Pids of this node's launchers whose command line contains `word` (read from /proc).
    func processes(runningLauncherWith word: String) -> [pid_t] {
        Files.list("/proc").compactMap { pid_t($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return words.first == launcher && words.contains("--scratch=" + scratch) && words.contains(word)
        }
    }

    /// The variables srun gives local rank `rank` of a one-node step of `size` tasks.
    static func slurmRank(_ rank: Int, of size: Int, job: String = "100", step: String = "0") -> [String: String] {
        ["SLURM_PROCID": "\(rank)", "SLURM_NTASKS": "\(size)", "SLURM_LOCALID": "\(rank)", "SLURM_NODEID": "0",
         "SLURM_STEP_TASKS_PER_NODE": "\(size)", "SLURM_JOB_ID": job, "SLURM_STEP_ID": step]
    }

    /// Starts `count` launchers that wait for one barrier file, then all exec at once; returns their results.
    func launchTogether(_ count: Int, _ arguments: [String], env: (Int) -> [String: String] = { _ in [:] }) throws -> [CommandResult] {
        let barrier = sandbox.directory + "/barrier-\(UUID().uuidString)"
        let quoted = ([launcher, "--scratch=" + scratch] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let script = "until [ -e \(barrier) ]; do sleep 0.01; done; exec " + quoted.joined(separator: " ")
        let running = try (0..<count).map { index in
            try Command.start(["/bin/sh", "-c", script], env: sandbox.environment.merging(env(index)) { $1 },
                              as: sandbox.user, directory: sandbox.home, timeout: .seconds(300))
        }
        try Files.write("", to: barrier)
        return running.map { $0.wait() }
    }
}
