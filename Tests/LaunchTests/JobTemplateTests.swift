import Foundation
import Testing
import TestSupport
import CommandExpectations

/// `udocker-launch template`: the examples in slurm/ and pbs/ are what the generator makes, the PBS directives
/// are in qsub's forms, and every bad option is refused with one line before anything is written.
@Suite struct JobTemplateGeneratorTests {
    @Test(arguments: JobTemplates.schedulers)
    func everyExampleIsWhatTheGeneratorMakesFromItsOwnCommandLine(_ scheduler: String) throws {
        let sandbox = try Sandbox()
        for name in JobTemplates.examples {
            let example = try JobTemplates.example(scheduler, name)
            let generated = try JobTemplates.generate(try JobTemplates.invocation(of: example), in: sandbox)
            try requireSuccess(generated)
            #expect(generated.out == example, "\(scheduler)/\(name).sh is not what the generator makes now:\n\(generated.out)")
        }
    }

    /// qsub (PBS Pro) takes `-l select=N:ncpus=C:mpiprocs=M[:ompthreads=T][:ngpus=G][:mem=Sgb]`, `-l place=…`,
    /// `-l walltime=HH:MM:SS`, `-N`, `-q`, `-A`, `-o`, `-j oe`, `-J START-END[:STEP]`.
    @Test func pbsDirectivesAreInTheFormsQsubAccepts() throws {
        let sandbox = try Sandbox()
        let result = try JobTemplates.generate("template pbs --job-name=big --partition=workq --account=proj1 --nodes=3 "
                                               + "--ntasks-per-node=4 --cpus-per-task=8 --gpus-per-node=2 --mem=64G "
                                               + "--time=1-02:03:04 --output=big.log --array=0-15:4 img:1 -- ./a.out", in: sandbox)
        try requireSuccess(result)
        let directives = result.lines.filter { $0.hasPrefix("#PBS ") }
        #expect(directives == ["#PBS -N big", "#PBS -q workq", "#PBS -A proj1",
                               "#PBS -l select=3:ncpus=32:mpiprocs=4:ompthreads=8:ngpus=2:mem=64gb",
                               "#PBS -l place=scatter", "#PBS -l walltime=26:03:04", "#PBS -o big.log", "#PBS -j oe",
                               "#PBS -J 0-15:4"], "\(result)")
        let grammar = #/#PBS (-N [A-Za-z][\w.-]*|-q \S+|-A \S+|-l select=\d+(:[a-z]+=\w+)+|-l place=(scatter|pack|free)|-l walltime=\d+:\d\d:\d\d|-o \S+|-j oe|-J \d+-\d+(:\d+)?)/#
        for example in JobTemplates.examples {
            for line in try JobTemplates.example("pbs", example).split(separator: "\n") where line.hasPrefix("#PBS") {
                #expect(line.wholeMatch(of: grammar) != nil, "pbs/\(example).sh: \(line)")
            }
        }
    }

    /// Each refusal: exit 1, one `Error:` line naming the problem, and no script at `-o FILE`.
    @Test(arguments: [
        ("template slurm --partition=cpu --gpus-per-node=1 img -- true", "partition cpu has no GPUs"),
        ("template slurm --ntasks-per-node=8 --cpus-per-task=2 img -- true", "the site's nodes have 8"),
        ("template sge img -- true", "unknown scheduler: sge"),
        ("template slurm --time=1:2:3:4 img -- true", "invalid --time: 1:2:3:4"),
        ("template pbs --time=soon img -- true", "invalid --time: soon"),
    ])
    func aBadOptionIsRefusedBeforeAnythingIsWritten(_ arguments: String, _ message: String) throws {
        let sandbox = try Sandbox()
        try Files.makeDirectory(sandbox.home + "/.udocker", owner: sandbox.user)
        try Files.write("# the site's nodes\ncpu_partitions = cpu, short\ncores_per_node = 8\n",
                        to: sandbox.home + "/.udocker/launch.conf", owner: sandbox.user)
        let script = sandbox.directory + "/job.sh"
        let words = arguments.split(separator: " ").map(String.init)
        let result = try JobTemplates.generate((Array(words.prefix(2)) + ["-o", script] + words.dropFirst(2)).joined(separator: " "), in: sandbox)
        expectOneLineError(result)
        #expect(result.err.contains(message), "\(result)")
        #expect(!Files.exists(script), "a script was written")
        #expect(Files.list(sandbox.directory).filter { $0.hasPrefix(".job.sh") }.isEmpty, "a temporary was left")
    }
}

/// The examples on the real thing: each SLURM example submitted with sbatch to the two-node test cluster, each PBS
/// one run by bash in an emulated PBS job with mpirun.
@Suite(.serialized, .enabled(if: SlurmCluster.unavailableReason == nil, "\(SlurmCluster.unavailableReason ?? "")"))
struct JobTemplateClusterTests {
    /// The cluster, and a sandbox whose repository (on the shared /var/tmp) holds the Debian 12 MPI image under
    /// the name the examples use.
    final class World: Sendable {
        let cluster: SlurmCluster
        let sandbox: Sandbox

        init() throws {
            cluster = try SlurmCluster.shared()
            sandbox = try Sandbox("job-templates")
            let image = try MPIFixtures.debian12()
            try sandbox.load(image)
            try requireSuccess(sandbox.udocker(["tag", image.reference, "debian-mpi:12"]))
            _ = try JobTemplates.install()
        }
    }
    static let shared = OnceValue<World>()
    static func world() throws -> World { try shared.get { try World() } }

    /// "hello from rank R of N on HOST" lines as "R/N@HOST", sorted.
    static func hellos(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count == 8, words[0] == "hello" else { return nil }
            return "\(words[3])/\(words[5])@\(words[7])"
        }.sorted()
    }

    @Test func mpiHelloReportsFourRanksFromBothNodesStagedOncePerNode() throws {
        let world = try Self.world()
        let (result, outputs) = try world.cluster.submitAndWait(try JobTemplates.example("slurm", "mpi-hello"), in: world.sandbox)
        try requireSuccess(result)
        #expect(Self.hellos(outputs.joined()) == ["0/4@n1", "1/4@n1", "2/4@n2", "3/4@n2"], "\(outputs)")
        for node in world.cluster.nodeNames {
            let log = (try? Files.read(world.cluster.nodeTmp(node) + "/udocker-\(world.sandbox.user.uid)/stage.log")) ?? ""
            #expect(log.split(separator: "\n").filter { $0.contains(" staged ") }.count == 1, "\(node): \(log)")
            #expect(log.split(separator: "\n").filter { $0.contains(" reused ") }.count >= 2, "the ranks did not start from the stage on \(node): \(log)")
        }
    }

    @Test func mpiPingpongRunsBetweenTheTwoNodes() throws {
        let world = try Self.world()
        let (result, outputs) = try world.cluster.submitAndWait(try JobTemplates.example("slurm", "mpi-pingpong"), in: world.sandbox)
        try requireSuccess(result)
        let rows = outputs.joined().split(separator: "\n").filter { !$0.hasPrefix("#") && $0.split(separator: " ").count == 3 }
        #expect(rows.first?.hasPrefix("8 ") == true && rows.count > 10, "\(outputs)")
    }

    @Test func theThreadedJobGetsBothCPUsOfItsNodeAndReadsTheContainersOSRelease() throws {
        let world = try Self.world()
        let (result, outputs) = try world.cluster.submitAndWait(try JobTemplates.example("slurm", "threaded"), in: world.sandbox)
        try requireSuccess(result)
        let line = try #require(outputs.joined().split(separator: "\n").first { $0.contains(" threads on CPUs ") }, "\(outputs)")
        #expect(line.hasSuffix(": 2 threads on CPUs 0-1 in Debian GNU/Linux 12 (bookworm)"), "\(line)")
    }

    @Test func theArrayRunsEachTaskInTheContainer() throws {
        let world = try Self.world()
        let (result, outputs) = try world.cluster.submitAndWait(try JobTemplates.example("slurm", "array"), in: world.sandbox)
        try requireSuccess(result)
        let lines = outputs.flatMap { $0.split(separator: "\n").filter { $0.contains(" task ") } }.map { $0.split(separator: " ", maxSplits: 1)[1] }.sorted()
        #expect(lines == ["task 1: Debian GNU/Linux 12 (bookworm)", "task 2: Debian GNU/Linux 12 (bookworm)",
                          "task 3: Debian GNU/Linux 12 (bookworm)"], "\(outputs)")
    }

    @Test(arguments: ["tar.gz", "squashfs"])
    func aPublishedContainerIsBroadcastWithSbcastAndStagedOncePerNodeFromTheCopy(_ format: String) throws {
        let world = try Self.world()
        let dir = try world.sandbox.makeDirectory("published")
        let launcher = world.sandbox.staging.udockerLaunch
        try requireSuccess(world.sandbox.run([launcher, "publish", "--format=" + format, "--to", dir, "--name", "mpi", "debian-mpi:12"], timeout: .seconds(300)))
        let generated = try JobTemplates.generate("template slurm --nodes=2 --ntasks-per-node=2 \(dir)/mpi.json -- /opt/mpi/hello", in: world.sandbox)
        try requireSuccess(generated)
        #expect(generated.out.contains("\nsbcast --force \"$ARCHIVE\""), "\(generated)")
        let (result, outputs) = try world.cluster.submitAndWait(generated.out, in: world.sandbox)
        try requireSuccess(result)
        #expect(Self.hellos(outputs.joined()) == ["0/4@n1", "1/4@n1", "2/4@n2", "3/4@n2"], "\(outputs)")
        let archive = try #require(Files.list(dir).first { $0.hasSuffix(format == "squashfs" ? ".sqfs" : ".tar.gz") })
        for node in world.cluster.nodeNames {
            #expect(Files.exists(world.cluster.nodeTmp(node) + "/udocker-\(world.sandbox.user.uid)/broadcast/" + archive), "sbcast left no copy on \(node)")
            let log = (try? Files.read(world.cluster.nodeTmp(node) + "/udocker-\(world.sandbox.user.uid)/stage.log")) ?? ""
            // This case's own stage (the log is the node's, shared with the other format's case).
            let version = archive.split(separator: "@").last.map { String($0.prefix(12)) } ?? ""
            #expect(log.split(separator: "\n").filter { $0.contains(" staged published-" + version) }.count == 1, "\(node): \(log)")
        }
    }

    @Test func theGPUExampleAsksForGPUsOfAClusterThatHasSome() throws {
        let example = try JobTemplates.example("slurm", "gpu")
        #expect(example.contains("#SBATCH --gpus-per-node=1\n"))
        #expect(example.contains("udocker-launch") && example.contains(" --gpu "), "the driver is not bound: \(example)")
        // The test cluster's nodes have no GPUs (no gres): sbatch would refuse the job, so it is not submitted here.
        print("slurm/gpu.sh not submitted: the test cluster's nodes have no GPUs")
    }

    /// No PBS server is packaged: the script runs under bash with what PBS gives a job (PBS_JOBID, PBS_NODEFILE
    /// listing the hosts, PBS_O_WORKDIR, TMPDIR), its ranks started by Open MPI's mpirun on this host.
    @Test(arguments: ["mpi-hello", "threaded", "array"])
    func aPBSExampleRunsUnderAnEmulatedPBSJob(_ name: String) throws {
        let world = try Self.world()
        let sandbox = world.sandbox
        let jobTmp = try sandbox.makeDirectory("pbs-\(name)-tmp")
        let nodeFile = sandbox.directory + "/pbs-\(name)-nodes"
        let host = ProcessInfo.processInfo.hostName
        try Files.write("\(host)\n\(host)\n", to: nodeFile, owner: sandbox.user)
        let env = JobTemplates.path(sandbox).merging(["PBS_JOBID": "4711.pbs", "PBS_NODEFILE": nodeFile, "PBS_O_WORKDIR": sandbox.home,
                                                      "TMPDIR": jobTmp, "PBS_ARRAY_INDEX": "7"]) { $1 }
        let result = try sandbox.run(["timeout", "-s", "KILL", "200", "bash", Staging.packageRoot + "/pbs/\(name).sh"], env: env, timeout: .seconds(240))
        try requireSuccess(result)
        switch name {
        case "mpi-hello": #expect(Self.hellos(result.out).map { String($0.prefix(3)) } == ["0/2", "1/2"], "\(result)")
        case "threaded": #expect(result.out.contains(": 2 threads on CPUs ") && result.out.contains(" in Debian GNU/Linux 12 (bookworm)\n"), "\(result)")
        default: #expect(result.out.hasSuffix(" task 7: Debian GNU/Linux 12 (bookworm)\n"), "\(result)")
        }
        #expect(Files.list(jobTmp + "/udocker-\(sandbox.user.uid)/stages").contains { $0.hasPrefix("image-") })
    }
}
