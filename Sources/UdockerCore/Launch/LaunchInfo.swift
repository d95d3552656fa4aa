import Foundation

/// What `udocker-launch info` reports: where this rank runs and what the node offers the launcher.
public struct LaunchInfo: Sendable, Codable {
    public struct LocalRankCPUs: Sendable, Codable {
        public var localRank: Int
        public var cpus: String?
        public var reason: String
    }

    public var rank: RankContext
    public var scratch: String
    public var repository: String
    public var repositoryFileSystem: String
    public var repositoryIsShared: Bool
    public var userNamespaces: String
    /// Whether a SquashFS image could be mounted rootless here (FUSE in a user namespace), or why not. The
    /// launcher does not mount yet (issue 17): it extracts images into the stage.
    public var squashfsMount: String
    public var tools: [String: String]
    public var processingUnits: String
    public var cores: Int
    public var numaNodes: [String]
    public var affinity: String
    public var bind: String
    public var localRankCPUs: [LocalRankCPUs]
    /// The NVIDIA driver version, or why there is none.
    public var nvidiaDriver: String
    /// Each NVIDIA GPU by PCI address, in nvidia-smi's order, with the CPUs nearest it.
    public var gpus: [String]
    /// The host MPI that --mpi=host would bind (and its components and interconnect stack), or why there is none.
    public var mpi: [String]

    public var text: String {
        var lines = [
            "rank:               \(rank.rank) of \(rank.size) (local \(rank.localRank) of \(rank.localSize)) on \(rank.node)",
            "process manager:    \(rank.manager.rawValue)\(rank.jobID.map { ", job \($0)" } ?? "")\(rank.stepID.map { ", step \($0)" } ?? "")",
            "scratch:            \(scratch)",
            "repository:         \(repository) (\(repositoryFileSystem), \(repositoryIsShared ? "shared: containers are staged" : "node-local"))",
            "user namespaces:    \(userNamespaces)",
            "squashfs mount:     \(squashfsMount)",
        ]
        lines += tools.keys.sorted().map { "tool \($0):".padding(toLength: 20, withPad: " ", startingAt: 0) + tools[$0]! }
        lines += ["cpus:               \(processingUnits) (\(cores) cores; NUMA \(numaNodes.joined(separator: " ")))",
                  "affinity now:       \(affinity)",
                  "pinning (--bind=\(bind)):"]
        lines += localRankCPUs.map { "  local rank \($0.localRank): \($0.cpus ?? "unchanged") (\($0.reason))" }
        lines.append("nvidia driver:      \(nvidiaDriver)")
        lines += gpus.enumerated().map { "  gpu \($0.offset): \($0.element)" }
        lines.append("host mpi:           \(mpi.first ?? "")")
        lines += mpi.dropFirst().map { "  " + $0 }
        return lines.joined(separator: "\n")
    }
}

extension Launcher {
    public func info(scratch: String?, bind: RankPinning.Policy) throws -> LaunchInfo {
        let rank = try RankContext.detect(environment)
        let area = try StageArea.choose(explicit: scratch, environment: environment)
        let host = LaunchModeChoice.HostFacts.current(tools: tools, config: repository.config)
        let topology = try HostTopology.discover()
        let inherited = LinuxCalls.affinity() ?? topology.processingUnits
        let kind = FileSystemKind.of(FileSystem.exists(repository.containersDir) ? repository.containersDir : repository.topDir)
        var tools: [String: String] = [:]
        tools["fakechroot"] = host.fakechrootLibrary ?? "not found"
        tools["patchelf"] = host.patchelf ?? "not found"
        tools["runc/crun"] = host.runtime ?? "not found"
        tools["proot"] = host.proot ?? "not found"
        let cpus = (0..<max(rank.localSize, 1)).map { local -> LaunchInfo.LocalRankCPUs in
            let plan = RankPinning.plan(bind, topology: topology, inherited: inherited, localRank: local, localSize: rank.localSize)
            return LaunchInfo.LocalRankCPUs(localRank: local, cpus: plan.cpus.map(CPUSet.format), reason: plan.reason)
        }
        let gpus = ((try? HostTopology.nvidiaGPUs()) ?? []).map {
            "\($0.pciBusID) near CPUs \($0.processingUnits.isEmpty ? "unknown" : CPUSet.format($0.processingUnits))"
        }
        let driver: String
        do { driver = try NvidiaDriver.version(.host(environment: environment)) } catch { driver = "\(error)" }
        let mountFailure = host.userNamespaceFailure.map { "needs user namespaces: \($0)" } ?? SquashMount.availability()
        var mpi: [String]
        do {
            let host = try HostMPI.discover(environment: environment, resolver: .host(environment: environment))
            mpi = ["\(host.library.description) at \(host.library.file), found by \(host.foundBy)"]
            mpi += host.libraries.map { "library \($0.name): \($0.file)" }
            mpi += host.directories.map { "\($0.role.rawValue): \($0.path)" }
            mpi += host.devices.map { "device \($0)" }
            mpi.append("needs glibc \(host.glibcLevel.map { "2.\($0)" } ?? "(none)")")
        } catch {
            mpi = ["\(error)"]
        }
        return LaunchInfo(rank: rank, scratch: area.base, repository: repository.topDir, repositoryFileSystem: kind.name,
                          repositoryIsShared: kind.isShared, userNamespaces: host.userNamespaceFailure ?? "available",
                          squashfsMount: mountFailure ?? "possible (FUSE in a user namespace: U1 runs images and published SquashFS files mounted)",
                          tools: tools, processingUnits: CPUSet.format(topology.processingUnits), cores: topology.cores.count,
                          numaNodes: topology.numaNodes.map { "\($0.index):\(CPUSet.format($0.processingUnits))" },
                          affinity: CPUSet.format(inherited), bind: bind.rawValue, localRankCPUs: cpus,
                          nvidiaDriver: driver, gpus: gpus, mpi: mpi)
    }
}
