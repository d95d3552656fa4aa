import Foundation

/// The batch systems `udocker-launch template` writes scripts for.
public enum Scheduler: String, Sendable, CaseIterable {
    case slurm, pbs

    public static func parse(_ text: String) throws -> Scheduler {
        guard let scheduler = Scheduler(rawValue: text.lowercased()) else {
            throw UdockerError(.invalidInput, "unknown scheduler: \(text) (valid: slurm pbs)")
        }
        return scheduler
    }
}

/// How the job's ranks are started: one of srun's MPI plugins (SLURM only), an MPI's own starter, or a plain
/// `srun` for a job without MPI.
public enum MPIFlavour: String, Sendable, CaseIterable {
    case pmix, pmi2, openmpi, mpich, none

    public static func parse(_ text: String, place: String = "--mpi") throws -> MPIFlavour {
        guard let flavour = MPIFlavour(rawValue: text.lowercased()) else {
            throw UdockerError(.invalidInput, "\(place): unknown MPI flavour \(text) (valid: \(allCases.map(\.rawValue).joined(separator: " ")))")
        }
        return flavour
    }
}

/// What a job script is asked for, with the resource options named as sbatch names them whatever the scheduler.
public struct JobRequest: Sendable {
    public var scheduler: Scheduler
    /// An image or container in the job's repository, or a published container's manifest or archive.
    public var target: String
    public var command: [String]
    public var nodes = 1
    public var tasksPerNode = 1
    public var cpusPerTask: Int?
    public var gpusPerNode: Int?
    /// sbatch's form: a number with an optional K, M, G or T suffix (megabytes without one).
    public var memory: String?
    /// sbatch's forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
    public var time: String?
    public var partition: String?
    public var account: String?
    public var jobName: String?
    public var output: String?
    /// sbatch's form: `1-10`, `1,3,5`, `1-10:2`, with an optional `%N` limit on tasks running at once.
    public var array: String?
    public var mpi: MPIFlavour?
    public var scratch: String?
    /// Passed to the launcher: `--repo`.
    public var repository: String?
    /// udocker run's -v and -e for the job's command.
    public var volumes: [String] = []
    public var environment: [String] = []

    public init(scheduler: Scheduler, target: String, command: [String]) {
        self.scheduler = scheduler; self.target = target; self.command = command
    }

    /// The `udocker-launch` arguments that make this script again, options in a fixed order.
    public var invocation: [String] {
        var words = ["template", scheduler.rawValue]
        let options: [(String, String?)] = [
            ("job-name", jobName), ("partition", partition), ("account", account), ("nodes", "\(nodes)"),
            ("ntasks-per-node", "\(tasksPerNode)"), ("cpus-per-task", cpusPerTask.map(String.init)),
            ("gpus-per-node", gpusPerNode.map(String.init)), ("mem", memory), ("time", time), ("output", output),
            ("array", array), ("mpi", mpi?.rawValue), ("scratch", scratch), ("repo", repository)]
        for case let (name, value?) in options { words.append("--\(name)=\(value)") }
        words += environment.map { "--env=" + $0 } + volumes.map { "--volume=" + $0 }
        return words + [target, "--"] + command
    }

    /// The request with the site's defaults filled in, checked against what the site says its nodes and
    /// partitions are. Every refusal is one line naming the option.
    public func resolved(site: LaunchSiteConfig) throws -> JobRequest {
        var job = self
        job.partition = partition ?? site.partition
        job.scratch = scratch ?? site.scratch
        job.mpi = mpi ?? site.mpi ?? (scheduler == .slurm ? .pmix : .openmpi)
        try job.refuseControlCharacters()
        for (name, value) in [("--nodes", nodes), ("--ntasks-per-node", tasksPerNode)] where value < 1 {
            throw UdockerError(.invalidInput, "\(name) must be at least 1: \(value)")
        }
        for (name, value) in [("--cpus-per-task", cpusPerTask), ("--gpus-per-node", gpusPerNode)] {
            if let value, value < 1 { throw UdockerError(.invalidInput, "\(name) must be at least 1: \(value)") }
        }
        if let time { _ = try JobTime.seconds(time) }
        if let memory { _ = try JobMemory.parse(memory) }
        if let array { _ = try JobArray.parse(array, for: scheduler) }
        if let gpus = gpusPerNode, let partition = job.partition, site.cpuPartitions.contains(partition) {
            throw UdockerError(.invalidInput, "--gpus-per-node=\(gpus): partition \(partition) has no GPUs (cpu_partitions in launch.conf)")
        }
        if let cores = site.coresPerNode, tasksPerNode * (cpusPerTask ?? 1) > cores {
            throw UdockerError(.invalidInput, "--ntasks-per-node=\(tasksPerNode) × --cpus-per-task=\(cpusPerTask ?? 1) "
                               + "needs \(tasksPerNode * (cpusPerTask ?? 1)) cores per node; the site's nodes have \(cores) (cores_per_node in launch.conf)")
        }
        if scheduler == .pbs, let flavour = job.mpi, [.pmix, .pmi2].contains(flavour) {
            throw UdockerError(.invalidInput, "--mpi=\(flavour.rawValue) is an srun plugin: a PBS job starts its ranks with --mpi=openmpi or mpich")
        }
        if command.isEmpty { throw UdockerError(.invalidInput, "no command for the job: give it after the image (IMAGE -- COMMAND)") }
        for volume in volumes { _ = try RunOptions.Volume.parse(volume) }
        return job
    }
}

extension JobRequest {
    /// What the generator could not check: without the site's `cores_per_node` a request for more than one core
    /// per node is written as asked (the scheduler judges it), and the user is told it was not checked.
    public func uncheckedCores(site: LaunchSiteConfig) -> String? {
        let cores = tasksPerNode * (cpusPerTask ?? 1)
        guard site.coresPerNode == nil, cores > 1 else { return nil }
        return "--ntasks-per-node=\(tasksPerNode) × --cpus-per-task=\(cpusPerTask ?? 1) (\(cores) cores per node) is not "
            + "checked against the nodes: the site sets no cores_per_node in launch.conf"
    }

    /// A value written into a `#SBATCH`/`#PBS` directive, or naming a path or an image, may hold no control
    /// character: a newline there would end the directive and start a line the script runs. The command's
    /// arguments and `-e` values may (a multi-line `sh -c` script is fine): `Shell.quote` keeps them on one line.
    func refuseControlCharacters() throws {
        let values: [(String, String?)] = [
            ("--job-name", jobName), ("--partition", partition), ("--account", account), ("--output", output),
            ("--mem", memory), ("--time", time), ("--array", array), ("--scratch", scratch), ("--repo", repository),
            ("the image or container", target)] + volumes.map { ("--volume", $0) }
        for case let (name, value?) in values where value.unicodeScalars.contains(where: Shell.isControl) {
            let shown = value.unicodeScalars.map { Shell.isControl($0) ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
            throw UdockerError(.invalidInput, "\(name) holds a control character: \(shown) (not allowed in a job script's directives and paths)")
        }
    }
}

/// A time limit as sbatch takes it.
public enum JobTime {
    public static func seconds(_ text: String) throws -> Int {
        let invalid = UdockerError(.invalidInput, "invalid --time: \(text) (use MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)")
        var days = 0, clock = Substring(text)
        if let dash = text.firstIndex(of: "-") {
            guard let d = Int(text[..<dash]), d >= 0 else { throw invalid }
            days = d
            clock = text[text.index(after: dash)...]
        }
        let parts = clock.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { throw invalid }
        let numbers = parts.map { $0! }
        let seconds: Int
        if text.contains("-") {
            // D-HH, D-HH:MM, D-HH:MM:SS
            seconds = numbers[0] * 3600 + (numbers.count > 1 ? numbers[1] * 60 : 0) + (numbers.count > 2 ? numbers[2] : 0)
        } else {
            switch numbers.count {
            case 1: seconds = numbers[0] * 60
            case 2: seconds = numbers[0] * 60 + numbers[1]
            default: seconds = numbers[0] * 3600 + numbers[1] * 60 + numbers[2]
            }
        }
        guard days * 86400 + seconds > 0 else { throw invalid }
        return days * 86400 + seconds
    }

    /// PBS's walltime, HH:MM:SS (hours past 24 as they are).
    public static func walltime(_ text: String) throws -> String {
        let total = try seconds(text)
        return String(format: "%02d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
    }
}

/// A memory size as sbatch takes it: a number with an optional K, M, G or T suffix, megabytes without one.
public enum JobMemory {
    public static func parse(_ text: String) throws -> (amount: Int, unit: Character) {
        var digits = Substring(text), unit: Character = "M"
        if let last = text.last, "KMGTkmgt".contains(last) {
            unit = Character(last.uppercased())
            digits = text.dropLast()
        }
        guard let amount = Int(digits), amount > 0 else {
            throw UdockerError(.invalidInput, "invalid --mem: \(text) (a number with an optional K, M, G or T suffix)")
        }
        return (amount, unit)
    }

    /// PBS's form: `16gb`.
    public static func pbs(_ text: String) throws -> String {
        let (amount, unit) = try parse(text)
        return "\(amount)\(unit.lowercased())b"
    }
}

/// A job array's index specification.
public enum JobArray {
    /// Checks the sbatch form and returns what the scheduler takes: sbatch's as it is; PBS Pro's `-J` takes only
    /// one range `START-END[:STEP]` (no lists, no `%` limit).
    public static func parse(_ text: String, for scheduler: Scheduler) throws -> String {
        let invalid = UdockerError(.invalidInput, "invalid --array: \(text) (e.g. 1-10, 1,3,5, 0-15:4, 1-100%10)")
        let spec = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        if spec.count == 2 { guard let limit = Int(spec[1]), limit > 0 else { throw invalid } }
        let items = spec[0].split(separator: ",", omittingEmptySubsequences: false)
        for item in items {
            let range = item.split(separator: ":", omittingEmptySubsequences: false)
            guard range.count <= 2, range.count == 1 || (Int(range[1]) ?? 0) > 0 else { throw invalid }
            let bounds = range[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard bounds.count <= 2, bounds.allSatisfy({ ($0 ?? -1) >= 0 }), bounds.count == 1 || bounds[0]! <= bounds[1]! else { throw invalid }
            if bounds.count == 1 && range.count == 2 { throw invalid }
        }
        guard scheduler == .pbs else { return text }
        guard spec.count == 1, items.count == 1, items[0].contains("-") else {
            throw UdockerError(.invalidInput, "--array=\(text): PBS takes one range START-END[:STEP] (no lists, no % limit)")
        }
        return String(items[0])
    }
}
