import Foundation

/// Starting the cluster: its directory, munged, slurm.conf, slurmctld, and one slurmd per node in the node's
/// own namespaces. Recipe and measurements in ../shared/TESTING.md ("SLURM with two nodes on one machine").
extension SlurmCluster {
    /// Starts munged, slurmctld and the nodes, and returns once every node is idle.
    static func start(nodeNames: [String] = ["n1", "n2"]) throws -> SlurmCluster {
        if let reason = unavailableReason { throw TestSupportError(reason) }
        _ = try TestUser.unprivileged()   // jobs run as this user: it must exist before slurmd looks it up
        var template = Array("/var/tmp/udocker-slurm-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestSupportError("mkdtemp: \(String(cString: strerror(errno)))") }
        let layout = Layout(directory: String(cString: made))
        chmod(layout.directory, 0o755)
        CleanupAtExit.removeAtExit(layout.directory)
        try layout.makeDirectories(nodes: nodeNames)

        var daemons = [try startMunge(layout)]
        let ports = try Loopback.freePorts(1 + nodeNames.count)
        try Files.write(configuration(layout, nodeNames: nodeNames, ports: ports), to: layout.configuration)
        let environment = ["SLURM_CONF": layout.configuration]
        daemons.append(try Daemon("slurmctld", ["/usr/sbin/slurmctld", "-D", "-i"], log: layout.log("slurmctld.out"),
                                  env: environment, lifetime: daemonLifetime))
        for node in nodeNames {
            // The node's own hostname, /scratch, /tmp, /dev/shm and /run/munge (this cluster's munged), in a mount
            // namespace of its own that slurmd's tasks inherit. slurmd starts in / as a daemon does: slurmstepd
            // returns to slurmd's directory, which the node cannot see when the tests run from under /tmp.
            let script = #"cd / && hostname "$1" && mount --bind "$2/scratch" /scratch && mount --bind "$2/tmp" /tmp && "#
                + #"mount --bind "$2/shm" /dev/shm && mount --bind "$3" /run/munge && exec /usr/sbin/slurmd -D -N "$1""#
            daemons.append(try Daemon("slurmd " + node, ["/usr/bin/unshare", "--mount", "--uts", "--propagation", "private",
                                                         "/bin/sh", "-c", script, "sh", node, layout.node(node), layout.munge],
                                      log: layout.log("slurmd-\(node).out"), env: environment, lifetime: daemonLifetime))
        }
        let cluster = SlurmCluster(directory: layout.directory, nodeNames: nodeNames, daemons: daemons)
        try cluster.waitUntilIdle()
        return cluster
    }

    /// The daemons live until the test process exits (which stops them); this only bounds a forgotten one.
    private static let daemonLifetime = Duration.seconds(6 * 3600)

    /// Where the cluster's files go, under its directory.
    struct Layout {
        let directory: String
        var configuration: String { directory + "/slurm.conf" }
        var state: String { directory + "/state" }
        var munge: String { directory + "/munge" }
        /// `%n` stands for every node in slurm.conf.
        func spool(_ node: String) -> String { directory + "/spool/" + node }
        func node(_ name: String) -> String { directory + "/nodes/" + name }
        func log(_ name: String) -> String { directory + "/log/" + name }

        func makeDirectories(nodes: [String]) throws {
            for dir in [state, directory + "/spool", log("")] { try Files.makeDirectory(dir) }
            for name in nodes {
                for dir in ["scratch", "tmp", "shm"] { try Files.makeDirectory(node(name) + "/" + dir, mode: 0o1777) }
            }
            // The mount points the nodes bind over; root may make them on the host (empty, harmless).
            for mountPoint in ["/scratch", "/run/munge"] where !Files.exists(mountPoint) { try Files.makeDirectory(mountPoint) }
        }
    }

    /// This cluster's own munged (own key, socket, pid and seed files), so that concurrent test runs do not share
    /// or stop each other's. Nodes see its socket directory as /run/munge, where PMIx and munge clients look.
    private static func startMunge(_ layout: Layout) throws -> Daemon {
        guard let munge = getpwnam("munge") else { throw TestSupportError("no munge user") }
        // munged insists on a socket directory everyone may traverse and on a key only it can read.
        try Files.makeDirectory(layout.munge)
        let key = layout.munge + "/munge.key", socket = layout.munge + "/munge.socket.2"
        try run(["/usr/sbin/mungekey", "--create", "--keyfile=" + key])
        for path in [layout.munge, key] {
            guard chown(path, munge.pointee.pw_uid, munge.pointee.pw_gid) == 0 else { throw TestSupportError("chown \(path) failed") }
        }
        let munged = try Daemon("munged", ["/usr/sbin/runuser", "-u", "munge", "--", "/usr/sbin/munged", "--foreground",
                                           "--socket=" + socket, "--key-file=" + key, "--pid-file=" + layout.munge + "/munged.pid",
                                           "--seed-file=" + layout.munge + "/munged.seed", "--log-file=" + layout.log("munged.log")],
                                log: layout.log("munged.out"), lifetime: daemonLifetime)
        guard Poll.until(timeout: .seconds(10), { Files.exists(socket) }) else {
            throw TestSupportError("munged did not create its socket:\n\(munged.log)")
        }
        return munged
    }

    /// slurm.conf for the nodes on `ports` (slurmctld first, then one per node), everything under the cluster's
    /// directory. `config_overrides` keeps two 2-CPU nodes valid on a machine with fewer cores.
    private static func configuration(_ layout: Layout, nodeNames: [String], ports: [Int]) -> String {
        let host = hostName()
        let memory = max(500, min(4000, Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE))) / (1 << 20) / (2 * nodeNames.count)))
        let dir = layout.directory
        var lines = [
            "ClusterName=udt" + String(dir.suffix(6)).lowercased().filter { $0.isLetter || $0.isNumber },
            "SlurmctldHost=\(host)(127.0.0.1)", "SlurmctldPort=\(ports[0])",
            "SlurmUser=root", "SlurmdUser=root",
            "AuthType=auth/munge", "CredType=cred/munge", "AuthInfo=socket=\(layout.munge)/munge.socket.2",
            "StateSaveLocation=\(layout.state)", "SlurmdSpoolDir=\(layout.spool("%n"))",
            "SlurmctldPidFile=\(dir)/slurmctld.pid", "SlurmctldLogFile=\(layout.log("slurmctld.log"))",
            "SlurmdPidFile=\(dir)/slurmd-%n.pid", "SlurmdLogFile=\(layout.log("slurmd-%n.log"))",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
            "MpiDefault=pmix", "ReturnToService=2", "MailProg=/bin/true", "SlurmdParameters=config_overrides",
            "AccountingStorageType=accounting_storage/none", "JobAcctGatherType=jobacct_gather/none", "JobCompType=jobcomp/none",
        ]
        for (index, node) in nodeNames.enumerated() {
            lines.append("NodeName=\(node) NodeHostname=\(host) NodeAddr=127.0.0.1 Port=\(ports[index + 1]) CPUs=2 RealMemory=\(memory)")
        }
        lines.append("PartitionName=debug Nodes=\(nodeNames.joined(separator: ",")) Default=YES OverSubscribe=YES MaxTime=INFINITE State=UP")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Waits until sinfo reports every node idle; on failure, says what the daemons logged.
    func waitUntilIdle() throws {
        var states = ""
        let idle = try Poll.until(timeout: .seconds(60), interval: .milliseconds(200)) {
            if let dead = daemons.first(where: { !$0.isRunning }) {
                throw TestSupportError("\(dead.name) exited while the cluster started:\n\(dead.log)")
            }
            states = (try? Command.run(["sinfo", "--noheader", "--Node", "--format=%N %T"], env: environment, timeout: .seconds(30)))?.out ?? ""
            return Set(states.split(separator: "\n").map(String.init)) == Set(nodeNames.map { $0 + " idle" })
        }
        guard idle else {
            throw TestSupportError("the SLURM nodes did not become idle: \(states)\n"
                + daemons.map { "--- \($0.name)\n\($0.log)" }.joined(separator: "\n"))
        }
    }

    private static func hostName() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func run(_ argv: [String]) throws {
        let result = try Command.run(argv, timeout: .seconds(60))
        guard result.succeeded else { throw TestSupportError("cluster set-up step failed:\n\(result)") }
    }
}
