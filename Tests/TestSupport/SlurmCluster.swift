import Foundation

/// A two-node SLURM cluster on this one machine, the world the launcher's tests and benchmarks run in: munged,
/// slurmctld and two slurmd (nodes `n1` and `n2`), each slurmd in its own mount + UTS namespace, so that a task's
/// `hostname` is its node's name and its /scratch, /tmp and /dev/shm are the node's own (directories of this
/// cluster, see `scratch(_:)`). /var/tmp, where the staging root and so every sandbox lives, is shared: it
/// plays the cluster's shared file system. Jobs run as the sandbox's (unprivileged) user.
///
/// Started once per test process on first use (see `SlurmCluster+Start.swift`), on ports picked free at
/// start, with its own munged; everything is stopped by pid and removed when the test process exits.
public final class SlurmCluster: Sendable {
    /// The cluster of this test process, started on first use with both nodes idle.
    public static func shared() throws -> SlurmCluster { try cached.get { try start() } }
    private static let cached = OnceValue<SlurmCluster>()

    /// Why this machine cannot run the cluster, or nil when it can. Suites that need it are
    /// `.enabled(if: SlurmCluster.unavailableReason == nil, …)` so that they skip with the reason.
    public static let unavailableReason: String? = {
        guard TestUser.isRunningAsRoot else { return "the test SLURM cluster needs root (slurmd runs as root in its own mount namespace)" }
        let missing = requiredExecutables.filter { !FileManager.default.isExecutableFile(atPath: $0) }
        guard missing.isEmpty else { return "the test SLURM cluster needs \(missing.joined(separator: ", ")) (make deps)" }
        guard getpwnam("munge") != nil else { return "the test SLURM cluster needs the munge user (package munge)" }
        return nil
    }()

    static let requiredExecutables = ["/usr/sbin/munged", "/usr/sbin/mungekey", "/usr/sbin/slurmctld", "/usr/sbin/slurmd",
                                      "/usr/bin/srun", "/usr/bin/sbatch", "/usr/bin/scontrol", "/usr/bin/sinfo",
                                      "/usr/bin/unshare"]

    /// The nodes' names, which their tasks' `hostname` prints: ["n1", "n2"].
    public let nodeNames: [String]
    /// The cluster's own files: slurm.conf, state, the slurmd spools, logs, the munge socket and the nodes'
    /// private directories. Under /var/tmp (never /tmp, which each node has its own of).
    public let directory: String
    let daemons: [Daemon]

    init(directory: String, nodeNames: [String], daemons: [Daemon]) {
        self.directory = directory
        self.nodeNames = nodeNames
        self.daemons = daemons
    }

    var layout: Layout { Layout(directory: directory) }

    /// The host directory a node sees as /scratch (mode 1777).
    public func scratch(_ node: String) -> String { layout.node(node) + "/scratch" }
    /// The host directory a node sees as /tmp (mode 1777).
    public func nodeTmp(_ node: String) -> String { layout.node(node) + "/tmp" }
    /// The host directory a node sees as /dev/shm (mode 1777).
    public func nodeShm(_ node: String) -> String { layout.node(node) + "/shm" }
    /// The node's slurmd spool (SlurmdSpoolDir): its step sockets, and PMIx's server directory (PMIX_SERVER_TMPDIR).
    public func spool(_ node: String) -> String { layout.spool(node) }
    /// The host directory of this cluster's munged socket, which every node sees as /run/munge.
    public var mungeDirectory: String { layout.munge }
    public var configurationFile: String { layout.configuration }

    /// What srun, sbatch, sinfo and scontrol need to reach this cluster.
    public var environment: [String: String] { ["SLURM_CONF": configurationFile] }

    /// `srun ARGUMENTS` as the sandbox's user, from its HOME, with the sandbox's environment except TMPDIR (tasks
    /// see their node's own /tmp, as on a cluster) plus `environment` and `env`. Killed (SIGKILL, its whole process
    /// group) at `timeout`, since Open MPI can hang and ignore SIGTERM; the step gets a time limit just above
    /// it, so SLURM ends its tasks too. An earlier `--time`/`-t` in `arguments` replaces that limit.
    public func srun(_ arguments: [String], in sandbox: Sandbox, env: [String: String] = [:],
                     timeout: Duration = .seconds(120)) throws -> CommandResult {
        try sandbox.run(["srun", "--time=" + Self.minutes(timeout)] + arguments, env: jobEnvironment(sandbox, env), timeout: timeout)
    }

    /// Submits `script` (a shell script; `#SBATCH` lines allowed) with sbatch as the sandbox's user, from its HOME,
    /// environment as for `srun`, and waits until the job has ended (polling `scontrol show job`, no accounting
    /// needed). Returns its final state, exit status and output (stdout and stderr). The job's time limit is just
    /// above `timeout`; at `timeout` the job is cancelled and this throws with the output so far.
    public func sbatch(script: String, in sandbox: Sandbox, env: [String: String] = [:],
                       timeout: Duration = .seconds(300)) throws -> BatchResult {
        let name = "job-" + UUID().uuidString.prefix(8).lowercased()
        let scriptPath = sandbox.directory + "/" + name + ".sh", outputPath = sandbox.directory + "/" + name + ".out"
        try Files.write(script, to: scriptPath, mode: 0o755, owner: sandbox.user)
        let submitted = try sandbox.run(["sbatch", "--parsable", "--output=" + outputPath, "--time=" + Self.minutes(timeout),
                                         scriptPath], env: jobEnvironment(sandbox, env), timeout: .seconds(60))
        guard submitted.succeeded, let jobID = submitted.out.split(separator: ";").first.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }),
              !jobID.isEmpty else {
            throw TestSupportError("sbatch failed:\n\(submitted)")
        }
        var fields: [String: String] = [:]
        let ended = try Poll.until(timeout: timeout, interval: .milliseconds(100)) {
            fields = try jobFields(jobID)
            return !["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED"].contains(fields["JobState"] ?? "")
        }
        let output = (try? Files.read(outputPath)) ?? ""
        guard ended else {
            _ = try? Command.run(["scancel", jobID], env: environment, timeout: .seconds(30))
            throw TestSupportError("batch job \(jobID) still \(fields["JobState"] ?? "?") after \(timeout); cancelled. Output:\n\(output)")
        }
        let exit = (fields["ExitCode"] ?? "").split(separator: ":").compactMap { Int32($0) }
        return BatchResult(jobID: jobID, state: fields["JobState"] ?? "", exitStatus: exit.first ?? -1,
                           signal: exit.count > 1 ? exit[1] : 0, output: output)
    }

    /// `scontrol show job` as KEY=VALUE pairs (values without spaces are all this needs).
    private func jobFields(_ jobID: String) throws -> [String: String] {
        let shown = try Command.run(["scontrol", "--oneliner", "show", "job", jobID], env: environment, timeout: .seconds(30))
        guard shown.succeeded else { throw TestSupportError("scontrol show job \(jobID) failed:\n\(shown)") }
        var fields: [String: String] = [:]
        for pair in shown.out.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            fields[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return fields
    }

    private func jobEnvironment(_ sandbox: Sandbox, _ env: [String: String]) -> [String: String] {
        var merged = sandbox.environment.merging(environment) { $1 }
        merged["TMPDIR"] = nil
        return merged.merging(env) { $1 }
    }

    /// A SLURM time limit (whole minutes) just above `timeout`.
    private static func minutes(_ timeout: Duration) -> String { String(timeout.components.seconds / 60 + 1) }
}

/// How a batch job ended.
public struct BatchResult: Sendable, CustomStringConvertible {
    public let jobID: String
    /// SLURM's final job state: COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY…
    public let state: String
    /// The batch script's exit status, and the signal that ended it (0 if none): SLURM's ExitCode=STATUS:SIGNAL.
    public let exitStatus: Int32
    public let signal: Int32
    /// What the job wrote to stdout and stderr (its --output file).
    public let output: String

    public var succeeded: Bool { state == "COMPLETED" && exitStatus == 0 }
    public var lines: [String] { output.split(separator: "\n").map(String.init) }

    public var description: String { "batch job \(jobID): \(state), exit \(exitStatus):\(signal)\n--- output\n\(output)" }
}
