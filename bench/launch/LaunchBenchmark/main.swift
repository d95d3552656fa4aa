// The launcher's benchmark, on the tests' two-node SLURM (TestSupport's SlurmCluster) with the Debian MPI images:
//   1. OSU-style ping-pong, 8 B to 4 MiB: natively and through udocker-launch in the mode it chooses (F3) with the
//      host's MPI bound (--mpi=host, the default's choice here) and with the container's own (--mpi=container), in U1
//      with the node's shared namespace and with one per rank (--join=no), and in P1 for contrast; on one node
//      (shared memory) and across the two nodes (TCP here);
//   2. the wall time of a 4-rank step on two nodes, cold (nothing staged) and warm, against the native program;
//   3. 16 launchers starting at once on one node against one;
//   4. staging a container of 20,000 small files onto both nodes: its published archive spread by sbcast, the
//      archive read by each node, and the container's tree copied file by file.
// Every configuration runs REPS times, interleaved; medians are reported. Writes OUT/pingpong-1node.dat,
// OUT/pingpong-2node.dat (gnuplot's input), OUT/startup.dat and OUT/summary.md. Run by bench/launch/run.sh as root.
// Then (Mounted.swift, issue 17) images run mounted: cold step start against image size, ping-pong in U1 on the
// mounted image. BENCH_PARTS chooses what runs: "modes" (the above), "mounted", or both (the default: modes,mounted).
import Foundation
import TestSupport

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: launch-bench OUTPUT-DIRECTORY\n".utf8))
    exit(2)
}
let output = arguments[1]
let repetitions = Int(ProcessInfo.processInfo.environment["BENCH_REPS"] ?? "") ?? 5
try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)

// Interrupted, it still stops the cluster's daemons (TestSupport stops them at exit).
for interruption in [SIGINT, SIGTERM] { signal(interruption) { _ in exit(130) } }

note("== starting the two-node cluster and building the MPI images")
let cluster = try SlurmCluster.shared()
let sandbox = try Sandbox("launch-bench")
let debian12 = try MPIFixtures.debian12(), debian11 = try MPIFixtures.debian11()
for image in [debian12, debian11] {
    let loaded = try sandbox.udocker(["load", "-i", image.dockerArchive])
    guard loaded.succeeded else { fatalError("load failed: \(loaded)") }
}
let native = try MPIFixtures.native()
let launcher = sandbox.staging.udockerLaunch

let parts = Set((ProcessInfo.processInfo.environment["BENCH_PARTS"] ?? "modes,mounted").split(separator: ",").map(String.init))
if parts.contains("mounted") {
    // An error thrown at top level crashes the process, and a crash skips the exit handlers that stop the cluster.
    do {
        try MountedBenchmark(cluster: cluster, sandbox: sandbox, launcher: launcher, image: debian12, native: native,
                             output: output, repetitions: repetitions).run()
    } catch {
        note("mounted benchmark failed: \(error)")
        exit(1)
    }
}
guard parts.contains("modes") else { exit(0) }

/// One way of running a program on the cluster.
struct Configuration {
    let name: String
    let srun: [String]
    let command: [String]
}

func launch(_ options: [String], _ image: FixtureImage, _ program: String) -> [String] {
    [launcher, "--scratch=/scratch"] + options + [image.reference, "--", program]
}

func srun(_ arguments: [String], timeout: Duration = .seconds(300)) throws -> CommandResult {
    try cluster.srun(arguments, in: sandbox, timeout: timeout)
}

/// The median of each size's half round-trip time (µs) over the runs; runs that failed are skipped.
func pingpong(_ configurations: [Configuration]) throws -> [String: [Int: Double]] {
    var samples: [String: [Int: [Double]]] = [:]
    for round in 1...repetitions {
        for configuration in configurations {
            let result = try srun(configuration.srun + configuration.command, timeout: .seconds(120))
            guard result.succeeded else {
                note("   \(configuration.name) failed (round \(round)): \(result.errLines.suffix(3).joined(separator: " | "))")
                continue
            }
            for line in result.lines where !line.hasPrefix("#") {
                let fields = line.split(separator: " ")
                guard fields.count == 3, let size = Int(fields[0]), let latency = Double(fields[1]) else { continue }
                samples[configuration.name, default: [:]][size, default: []].append(latency)
            }
        }
        note("   round \(round) of \(repetitions) done")
    }
    return samples.mapValues { $0.mapValues(median) }
}

func seconds(_ body: () throws -> CommandResult) throws -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    guard result.succeeded else { fatalError("timed step failed: \(result)") }
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

// MARK: ping-pong

let oneNode = ["-N1", "-n2", "--mpi=pmix"], twoNodes = ["-N2", "-n2", "--mpi=pmix"]
let local: [Configuration] = [
    Configuration(name: "native", srun: oneNode, command: [native.pingpong]),
    Configuration(name: "F3 host MPI", srun: oneNode, command: launch(["--mpi=host"], debian12, MPIFixtures.pingpongPath)),
    Configuration(name: "F3 container MPI", srun: oneNode, command: launch(["--mpi=container"], debian12, MPIFixtures.pingpongPath)),
    Configuration(name: "U1 shared", srun: oneNode, command: launch(["--execmode=U1"], debian12, MPIFixtures.pingpongPath)),
    // Sibling user namespaces may not use each other's memory (CMA): Open MPI is told to copy in and out instead.
    Configuration(name: "U1 own (--join=no)", srun: oneNode, command: launch(["--execmode=U1", "--join=no", "-e",
                                                                              "OMPI_MCA_btl_vader_single_copy_mechanism=none"],
                                                                             debian12, MPIFixtures.pingpongPath)),
    Configuration(name: "P1 (Debian 11 guest)", srun: oneNode, command: launch(["--execmode=P1"], debian11, MPIFixtures.pingpongPath)),
]
let remote: [Configuration] = [
    Configuration(name: "native", srun: twoNodes, command: [native.pingpong]),
    Configuration(name: "F3 host MPI", srun: twoNodes, command: launch(["--mpi=host"], debian12, MPIFixtures.pingpongPath)),
    Configuration(name: "F3 container MPI", srun: twoNodes, command: launch(["--mpi=container"], debian12, MPIFixtures.pingpongPath)),
    Configuration(name: "U1 shared", srun: twoNodes, command: launch(["--execmode=U1"], debian12, MPIFixtures.pingpongPath)),
]

note("== ping-pong on one node")
let localResults = try pingpong(local)
note("== ping-pong across two nodes")
let remoteResults = try pingpong(remote)

try writeTable(localResults, columns: local.map(\.name), to: output + "/pingpong-1node.dat")
try writeTable(remoteResults, columns: remote.map(\.name), to: output + "/pingpong-2node.dat")

// MARK: start-up

func cleanStages() throws {
    let result = try srun(["-N2", "--ntasks-per-node=1", launcher, "--scratch=/scratch", "clean"])
    guard result.succeeded else { fatalError("clean failed: \(result)") }
}

note("== 4-rank step on two nodes: cold, warm, native")
var cold: [Double] = [], warm: [Double] = [], nativeStep: [Double] = []
let step = ["-N2", "-n4", "--mpi=pmix"]
for _ in 1...repetitions {
    try cleanStages()
    cold.append(try seconds { try srun(step + launch([], debian12, MPIFixtures.helloPath)) })
    warm.append(try seconds { try srun(step + launch([], debian12, MPIFixtures.helloPath)) })
    nativeStep.append(try seconds { try srun(step + [native.hello]) })
}

note("== 16 launchers at once on one node, against one")
var sixteen: [Double] = [], one: [Double] = [], sixteenNative: [Double] = []
for _ in 1...repetitions {
    sixteen.append(try seconds { try srun(["-N1", "-n16", "--overcommit"] + launch([], debian12, "/bin/true")) })
    one.append(try seconds { try srun(["-N1", "-n1"] + launch([], debian12, "/bin/true")) })
    sixteenNative.append(try seconds { try srun(["-N1", "-n16", "--overcommit", "/bin/true"]) })
}

// MARK: staging many small files (published archive by sbcast, the archive read by each node, the tree copied)

/// `bench/many:latest`: busybox plus a layer of `count` 100-byte files in 200 directories.
func manyFilesImage(count: Int) throws -> String {
    let base = try Fixtures.busybox()
    let dir = try sandbox.staging.makeDirectory("many-files-image")
    let layout = dir + "/oci", tag = base.tag
    try FileManager.default.copyItem(atPath: base.ociLayout, toPath: layout)
    var tar = TarBuilder()
    tar.directory("many")
    for directory in 0..<200 {
        tar.directory("many/d\(directory)")
        for file in 0..<(count / 200) { tar.file("many/d\(directory)/f\(file)", String(repeating: "x", count: 100)) }
    }
    try Files.write(tar.archive, to: dir + "/layer.tar")
    for argv in [["umoci", "raw", "add-layer", "--image", layout + ":" + tag, dir + "/layer.tar"], ["umoci", "gc", "--layout", layout],
                 ["tar", "-C", layout, "-cf", dir + "/many.tar", "oci-layout", "index.json", "blobs"]] {
        let result = try Command.run(argv, timeout: .seconds(300))
        guard result.succeeded else { fatalError("\(result)") }
    }
    try Files.makeWorldReadable(dir)
    let loaded = try sandbox.udocker(["load", "-i", dir + "/many.tar", "bench/many"])
    guard loaded.succeeded else { fatalError("\(loaded)") }
    return "bench/many:" + tag
}

note("== staging 20,000 small files onto two nodes")
let manyImage = try manyFilesImage(count: 20_000)
let published = try sandbox.makeDirectory("published")
let publish = try sandbox.run([launcher, "publish", "--format=tar.gz", manyImage, "--to", published, "--name", "many"], timeout: .seconds(600))
guard publish.succeeded else { fatalError("publish failed: \(publish)") }
let archive = try sandbox.run([launcher, "published", "--archive", published + "/many.json"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
let created = try sandbox.udocker(["create", "--name=many", manyImage])
guard created.succeeded else { fatalError("\(created)") }

/// Seconds the job spent staging on both nodes, timed inside the allocation (no scheduling latency).
func timedStaging(_ steps: String) throws -> Double {
    let script = """
        #!/bin/bash
        #SBATCH --nodes=2 --ntasks-per-node=1
        set -e
        srun -N2 --ntasks-per-node=1 \(launcher) --scratch=/scratch clean >/dev/null
        start=$(date +%s.%N)
        \(steps)
        end=$(date +%s.%N)
        echo "seconds $(awk "BEGIN { print $end - $start }")"
        """
    let result = try cluster.sbatch(script: script, in: sandbox, timeout: .seconds(900))
    guard result.succeeded, let line = result.lines.last(where: { $0.hasPrefix("seconds ") }), let value = Double(line.dropFirst(8)) else {
        fatalError("staging job failed: \(result)")
    }
    return value
}

let stageStep = "srun -N2 --ntasks-per-node=1 \(launcher) --scratch=/scratch"
let stagings: [(String, String)] = [
    ("published archive, sbcast to each node's scratch", "sbcast --force \(archive) /scratch/$(basename \(archive))\n\(stageStep) stage \(archive)"),
    ("published archive, read by each node", "\(stageStep) stage \(archive)"),
    ("container tree copied file by file", "\(stageStep) --stage=always stage many"),
]
var stagingSeconds: [String: [Double]] = [:]
for _ in 1...repetitions {
    for (name, steps) in stagings { stagingSeconds[name, default: []].append(try timedStaging(steps)) }
}

// MARK: report

func ratio(_ value: Double?, _ base: Double?) -> String {
    guard let value, let base, base > 0 else { return "—" }
    return String(format: "%.2f", value / base)
}

func latencyTable(_ results: [String: [Int: Double]], _ configurations: [Configuration]) -> String {
    let sizes = Set(results.values.flatMap(\.keys)).sorted()
    var text = "| size | " + configurations.map { $0.name + " µs" }.joined(separator: " | ") + " | "
        + configurations.dropFirst().map { $0.name + " / native" }.joined(separator: " | ") + " |\n"
    text += "|" + String(repeating: " ---: |", count: 1 + 2 * configurations.count - 1) + "\n"
    for size in sizes {
        let base = results["native"]?[size]
        text += "| \(size) | " + configurations.map { results[$0.name]?[size].map { String(format: "%.2f", $0) } ?? "failed" }.joined(separator: " | ")
        text += " | " + configurations.dropFirst().map { ratio(results[$0.name]?[size], base) }.joined(separator: " | ") + " |\n"
    }
    return text
}

let host = ProcessInfo.processInfo
let summary = """
    # udocker-launch benchmark

    \(ISO8601DateFormatter().string(from: Date())), \(host.processorCount) CPUs, \(host.physicalMemory / 1_073_741_824) GiB, \
    \(repetitions) interleaved rounds, medians. Two SLURM nodes on one machine (TestSupport's SlurmCluster); Open MPI 4.1.4 \
    (Debian 12) natively and in the Debian 12 image, 4.1.0 in the Debian 11 image (P1 only: Debian's proot cannot start \
    a glibc ≥ 2.33 guest's programs). "host MPI": the host's Open MPI bound into the Debian 12 guest (`--mpi=host`;
    the launcher's default `--mpi=auto` chooses it here, so the U1 rows use it too); "container MPI": the guest's own.
    Single copy: CMA (Open MPI's default) everywhere but "U1 own", where the kernel refuses it between sibling user \
    namespaces and the runs use `btl_vader_single_copy_mechanism=none` (copy in, copy out).

    ## Ping-pong on one node (half round-trip, µs)

    \(latencyTable(localResults, local))
    ## Ping-pong across two nodes (TCP on loopback here)

    \(latencyTable(remoteResults, remote))
    ## Start-up (s, median of \(repetitions))

    | what | launcher | native | ratio |
    | --- | ---: | ---: | ---: |
    | 4 ranks on 2 nodes, cold (staging on both nodes) | \(String(format: "%.3f", median(cold))) | \(String(format: "%.3f", median(nativeStep))) | \(ratio(median(cold), median(nativeStep))) |
    | 4 ranks on 2 nodes, warm (stages reused) | \(String(format: "%.3f", median(warm))) | \(String(format: "%.3f", median(nativeStep))) | \(ratio(median(warm), median(nativeStep))) |
    | 16 ranks at once on one node (`true`) | \(String(format: "%.3f", median(sixteen))) | \(String(format: "%.3f", median(sixteenNative))) | \(ratio(median(sixteen), median(sixteenNative))) |
    | 1 rank on one node (`true`) | \(String(format: "%.3f", median(one))) | — | — |

    ## Staging 20,000 small files onto two nodes (s, median of \(repetitions), timed inside the job)

    | how | seconds | / sbcast |
    | --- | ---: | ---: |
    \(stagings.map { "| \($0.0) | \(String(format: "%.2f", median(stagingSeconds[$0.0] ?? [0]))) | "
        + ratio(median(stagingSeconds[$0.0] ?? [0]), median(stagingSeconds[stagings[0].0] ?? [0])) + " |" }.joined(separator: "\n"))

    """
try summary.write(toFile: output + "/summary.md", atomically: true, encoding: .utf8)
print(summary)
