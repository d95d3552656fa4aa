import Foundation

/// The site's defaults for job scripts, from `/etc/udocker/launch.conf` then `~/.udocker/launch.conf` (a later file
/// overrides an earlier one key by key). The format is one `key = value` per line; `#` starts a comment; blank
/// lines are ignored; an unknown key or a value that does not parse is an error naming the file and line:
///
///     partition = batch              # default --partition (the queue for PBS)
///     mpi = pmix                     # default --mpi: pmix, pmi2, openmpi, mpich or none
///     scratch = /local/scratch       # node-local directory for stages (default: $SLURM_TMPDIR or $TMPDIR, else /tmp)
///     cpu_partitions = batch short   # partitions without GPUs (space or comma separated): --gpus-per-node is refused there
///     cores_per_node = 64            # --ntasks-per-node × --cpus-per-task may not exceed it
///     template_dir = /opt/udocker/share/udocker   # holds slurm/job.sh.in and pbs/job.sh.in
public struct LaunchSiteConfig: Sendable, Equatable {
    public var partition: String?
    public var mpi: MPIFlavour?
    public var scratch: String?
    public var cpuPartitions: [String] = []
    public var coresPerNode: Int?
    public var templateDirectory: String?

    public init() {}

    public static let systemFile = "/etc/udocker/launch.conf"
    public static func userFile(home: String) -> String { home + "/.udocker/launch.conf" }

    /// The system file, then the user's; a file that does not exist is skipped.
    public static func load(files: [String]) throws -> LaunchSiteConfig {
        var config = LaunchSiteConfig()
        for file in files where FileSystem.isFile(file) {
            try config.read(try FileSystem.readString(file), from: file)
        }
        return config
    }

    public static func load(environment: [String: String]) throws -> LaunchSiteConfig {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return try load(files: [systemFile, userFile(home: home)])
    }

    mutating func read(_ text: String, from file: String) throws {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let place = "\(file):\(index + 1)"
            guard let equals = line.firstIndex(of: "=") else { throw UdockerError(.invalidInput, "\(place): expected key = value") }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty else { throw UdockerError(.invalidInput, "\(place): \(key) has no value") }
            switch key {
            case "partition": partition = value
            case "mpi": mpi = try MPIFlavour.parse(value, place: place)
            case "scratch": scratch = value
            case "cpu_partitions": cpuPartitions = value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
            case "cores_per_node":
                guard let cores = Int(value), cores > 0 else { throw UdockerError(.invalidInput, "\(place): cores_per_node is not a positive number: \(value)") }
                coresPerNode = cores
            case "template_dir": templateDirectory = value
            default:
                throw UdockerError(.invalidInput, "\(place): unknown key \(key) (known: partition mpi scratch cpu_partitions cores_per_node template_dir)")
            }
        }
    }
}
