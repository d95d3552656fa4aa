import Foundation

/// The parts of a batch script that depend on the request, one per template placeholder: the scheduler's
/// directives, the script's settings (scratch, the launcher's command line), the broadcast of a published
/// container (SLURM), the once-per-node stage step and the job step itself. `JobTemplate` puts them into the
/// site's template.
public struct JobScript: Sendable {
    public let job: JobRequest
    /// Set when the target is a published container (a path to its manifest or archive).
    let isPublished: Bool

    /// `job` must be `resolved` already.
    public init(_ job: JobRequest) {
        self.job = job
        isPublished = PublishedContainer.isPublishedPath(job.target)
    }

    public var parts: [String: [String]] {
        ["directives": directives, "settings": settings, "broadcast": broadcast, "stage": stage, "run": run]
    }

    // MARK: directives

    var directives: [String] {
        switch job.scheduler {
        case .slurm: return slurmDirectives
        case .pbs: return pbsDirectives
        }
    }

    private var slurmDirectives: [String] {
        var pairs: [(String, String?)] = [("job-name", job.jobName), ("partition", job.partition), ("account", job.account),
                                          ("nodes", "\(job.nodes)"), ("ntasks-per-node", "\(job.tasksPerNode)"),
                                          ("cpus-per-task", job.cpusPerTask.map(String.init)),
                                          ("gpus-per-node", job.gpusPerNode.map(String.init)), ("mem", job.memory),
                                          ("time", job.time), ("output", job.output), ("array", job.array)]
        pairs.removeAll { $0.1 == nil }
        return pairs.map { "#SBATCH --\($0.0)=\($0.1!)" }
    }

    /// PBS Pro's forms: one chunk per node of select, with the ranks (mpiprocs) and threads (ompthreads) placed
    /// on it; walltime as HH:MM:SS; the queue for the partition; -J for an array.
    private var pbsDirectives: [String] {
        var lines: [String] = []
        if let name = job.jobName { lines.append("#PBS -N \(name)") }
        if let queue = job.partition { lines.append("#PBS -q \(queue)") }
        if let account = job.account { lines.append("#PBS -A \(account)") }
        let threads = job.cpusPerTask ?? 1
        var chunk = "select=\(job.nodes):ncpus=\(job.tasksPerNode * threads):mpiprocs=\(job.tasksPerNode)"
        if job.cpusPerTask != nil { chunk += ":ompthreads=\(threads)" }
        if let gpus = job.gpusPerNode { chunk += ":ngpus=\(gpus)" }
        if let memory = job.memory, let pbs = try? JobMemory.pbs(memory) { chunk += ":mem=\(pbs)" }
        lines.append("#PBS -l \(chunk)")
        // One rank per mpiprocs slot, spread over distinct hosts.
        lines.append("#PBS -l place=scatter")
        if let time = job.time, let walltime = try? JobTime.walltime(time) { lines.append("#PBS -l walltime=\(walltime)") }
        if let output = job.output { lines += ["#PBS -o \(output)", "#PBS -j oe"] }
        if let array = job.array, let range = try? JobArray.parse(array, for: .pbs) { lines.append("#PBS -J \(range)") }
        return lines
    }

    // MARK: settings

    var settings: [String] {
        let scratch = job.scratch.map(Shell.quote)
            ?? (job.scheduler == .slurm ? "${SLURM_TMPDIR:-/tmp}" : "${TMPDIR:-/tmp}")
        var launch = ["udocker-launch", "--scratch=\"$SCRATCH\""]
        if let repository = job.repository { launch.append("--repo=" + Shell.quote(repository)) }
        var lines = ["# Node-local scratch for the container's stage: the same path on every node.",
                     "SCRATCH=\(scratch)",
                     "LAUNCH=(\(launch.joined(separator: " ")))"]
        if isPublished {
            lines += ["# The published container's current version, kept for the whole job even if it is published anew meanwhile.",
                      "ARCHIVE=$(udocker-launch published --archive \(Shell.quote(job.target)))"]
        }
        return lines
    }

    /// The launcher's target in the script: a published container by its pinned archive.
    private var target: String { isPublished ? "\"$ARCHIVE\"" : Shell.quote(job.target) }

    // MARK: broadcast, stage, run

    /// SLURM's sbcast copies the archive to every node's scratch along a tree: the shared file system is read
    /// once per job, not once per node. The copy goes into this user's private directory in scratch, made first
    /// on every node (`broadcast-dir`), where the launcher looks for it by its name.
    var broadcast: [String] {
        guard isPublished, job.scheduler == .slurm else { return [] }
        return ["# Broadcast the archive into your private directory in every node's scratch (read once from the shared file system); the launcher finds it there.",
                "BROADCAST=$(srun --nodes=\"$SLURM_JOB_NUM_NODES\" --ntasks=\"$SLURM_JOB_NUM_NODES\" --ntasks-per-node=1 \"${LAUNCH[@]}\" broadcast-dir | sort -u)",
                "sbcast --force \"$ARCHIVE\" \"$BROADCAST/$(basename \"$ARCHIVE\")\""]
    }

    var stage: [String] {
        let step: String
        switch (job.scheduler, job.mpi ?? .none) {
        case (.slurm, _):
            step = "srun --nodes=\"$SLURM_JOB_NUM_NODES\" --ntasks=\"$SLURM_JOB_NUM_NODES\" --ntasks-per-node=1"
        case (.pbs, .mpich):
            step = "mpiexec -f \"$NODES\" -ppn 1 -n \"$(wc -l < \"$NODES\")\""
        case (.pbs, _):
            step = "mpirun --hostfile \"$NODES\" --map-by ppr:1:node"
        }
        var lines = ["# Stage the container on every node, once, before the job step (its ranks then start from the stage)."]
        if job.scheduler == .pbs {
            lines.append("NODES=$SCRATCH/nodes.${PBS_JOBID:-$$}")
            lines.append("sort -u \"$PBS_NODEFILE\" > \"$NODES\"")
        }
        lines.append("\(step) \"${LAUNCH[@]}\" stage \(target)")
        return lines
    }

    var run: [String] {
        let starter: String
        switch (job.scheduler, job.mpi ?? .none) {
        case (.slurm, .pmix), (.slurm, .pmi2):
            starter = "srun --mpi=\(job.mpi!.rawValue)" + cpusOption
        case (.slurm, .none):
            starter = "srun" + cpusOption
        case (.slurm, .openmpi):
            starter = "mpirun"
        case (.slurm, .mpich), (.pbs, .mpich):
            starter = job.scheduler == .pbs ? "mpiexec -f \"$PBS_NODEFILE\" -n \"$(wc -l < \"$PBS_NODEFILE\")\"" : "mpiexec"
        case (.pbs, _):
            starter = "mpirun --hostfile \"$PBS_NODEFILE\" -np \"$(wc -l < \"$PBS_NODEFILE\")\""
        }
        var options: [String] = []
        if let gpus = job.gpusPerNode {
            // The host's driver in the container; GPUs the node's ranks can share out evenly, one share per rank.
            options.append("--gpu")
            if job.tasksPerNode > 1 && gpus % job.tasksPerNode == 0 { options.append("--gpus-per-rank=\(gpus / job.tasksPerNode)") }
        }
        if let threads = job.cpusPerTask, !job.environment.contains(where: { $0.hasPrefix("OMP_NUM_THREADS=") }) {
            options.append("-e OMP_NUM_THREADS=\(threads)")
        }
        options += job.environment.map { "-e " + Shell.quoteExpandingJobVariables($0) }
        options += job.volumes.map { "-v " + Shell.quoteExpandingJobVariables($0) }
        let command = job.command.map(Shell.quote).joined(separator: " ")
        return ["# The job step: one launcher per rank, each running the command in the container.",
                ([starter, "\"${LAUNCH[@]}\""] + options + [target, "--", command]).joined(separator: " ")]
    }

    /// srun (from SLURM 22.05) does not pass the batch job's --cpus-per-task on to its steps.
    private var cpusOption: String { job.cpusPerTask.map { " --cpus-per-task=\($0)" } ?? "" }
}

/// Quoting for the scripts: a word of safe characters as it is, anything else in single quotes, and a word holding
/// a control character in bash's `$'…'` form with that character escaped, so that no word can end the line (or the
/// `# Generated by:` comment) it is written on.
enum Shell {
    static func quote(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")
        if !word.isEmpty && word.allSatisfy({ safe.contains($0) }) { return word }
        guard word.unicodeScalars.contains(where: isControl) else {
            return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
        var escaped = ""
        for scalar in word.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "'": escaped += "\\'"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case _ where isControl(scalar):
                // The character's UTF-8 bytes, whatever the locale the script runs in.
                escaped += String(scalar).utf8.map { String(format: "\\x%02x", $0) }.joined()
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "$'" + escaped + "'"
    }

    /// A `-v` or `-e` value as the job step's word: the scheduler's own variables in it (`$SLURM_ARRAY_TASK_ID`,
    /// `${PBS_ARRAY_INDEX}`, any `SLURM_*` or `PBS_*`) expand when the step runs, so each array task gets its own;
    /// anything else stays as written (no other `$`, backquote or quote is live).
    static func quoteExpandingJobVariables(_ word: String) -> String {
        let variable = #/\$(?:\{((?:SLURM|PBS)_[A-Z0-9_]+)\}|((?:SLURM|PBS)_[A-Z0-9_]+))/#
        let matches = word.matches(of: variable)
        guard !matches.isEmpty else { return quote(word) }
        var pieces: [(literal: Substring, variable: Substring?)] = []
        var rest = word[...]
        for match in matches {
            pieces.append((rest[rest.startIndex..<match.range.lowerBound], match.output.1 ?? match.output.2))
            rest = word[match.range.upperBound...]
        }
        pieces.append((rest, nil))
        if word.unicodeScalars.contains(where: isControl) {
            // Only $'…' can hold those: quoted pieces side by side with the variables between them.
            return pieces.map { (piece: (literal: Substring, variable: Substring?)) in
                (piece.literal.isEmpty ? "" : quote(String(piece.literal))) + (piece.variable.map { "\"${\($0)}\"" } ?? "")
            }.joined()
        }
        let escaped = pieces.map { (piece: (literal: Substring, variable: Substring?)) in
            piece.literal.reduce(into: "") { text, character in
                if "$`\"\\".contains(character) { text.append("\\") }
                text.append(character)
            } + (piece.variable.map { "${\($0)}" } ?? "")
        }
        return "\"" + escaped.joined() + "\""
    }

    /// C0 and C1 controls and DEL, and the Unicode line and paragraph separators.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}
