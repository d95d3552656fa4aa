// Issue 17's launcher benchmark: images run mounted (U1, the step's keeper serving the image's SquashFS on each node).
//   1. Cold start of a 4-rank step on two nodes (every rank runs `true`) against image size: the Debian 12 MPI
//      fixture as is and padded with incompressible files to ~250 MB and ~1 GB, for --stage=extract (the tree into
//      node scratch; F3 is then chosen), --stage=mount, --stage=copy, against native `srun true`; and a warm mounted
//      step (the node's stage reused). Cold: a fresh --scratch on both nodes every round; the image's repository
//      SquashFS already built (its one-time build is timed separately, with `udocker-launch stage`).
//   2. Ping-pong on the mounted image in U1 against native and against the extracted tree (F3, and U1), one node and
//      two, with what explains the numbers: each rank's CPUs, how many process_vm_readv/writev calls (CMA) each
//      configuration makes (strace -c), and which file system Open MPI's shared-memory segment and /tmp are on.
// Writes OUT/coldstart.dat, OUT/pingpong-mounted-1node.dat, OUT/pingpong-mounted-2node.dat and OUT/mounted.md.
import Foundation
import TestSupport

struct MountedBenchmark {
    let cluster: SlurmCluster
    let sandbox: Sandbox
    let launcher: String
    let image: FixtureImage
    let native: MPIPrograms
    let output: String
    let repetitions: Int
    /// Ping-pong rounds are cheap next to cold steps: BENCH_PINGPONG_REPS (default BENCH_REPS).
    var pingpongRepetitions: Int { Int(ProcessInfo.processInfo.environment["BENCH_PINGPONG_REPS"] ?? "") ?? repetitions }

    /// MiB of random files added to the Debian 12 image: as is, ~250 MB and ~1 GB.
    static let paddings = [0, 176, 944]
    static let stages = ["extract", "mount", "copy"]

    struct Sized {
        let reference: String
        let padding: Int
        /// The image's repository SquashFS, its bytes, and seconds `udocker-launch stage` took to build it.
        let squashfs: String
        let squashfsBytes: Int64
        let buildSeconds: Double
    }

    /// A mounted one-rank step on one node with the image's SquashFS dropped from the page cache first: the bytes
    /// of the file it brought into the cache (fincore: all the node read of it, readahead included) and its seconds.
    struct Touched {
        let bytes: Int64
        let seconds: Double
    }

    func run() throws {
        note("== mounted images: the padded images (cached), their SquashFS built once")
        let images = try Self.paddings.map(sized)
        note("== mounted images: cold 4-rank steps on two nodes against image size")
        let cold = try coldStarts(images)
        let touched = try images.map(touchedBytes)
        note("== mounted images: ping-pong on the mounted image")
        for node in cluster.nodeNames { try Files.makeDirectory(cluster.scratch(node) + "/pingpong", owner: sandbox.user) }
        let local = try pingpong(oneNodeConfigurations, nodes: ["-N1", "-n2"])
        let remote = try pingpong(twoNodeConfigurations, nodes: ["-N2", "-n2"])
        note("== mounted images: CPUs, CMA calls, where the shared memory is")
        let probes = try explain()
        try write(images: images, cold: cold, touched: touched, local: local, remote: remote, probes: probes)
    }

    // MARK: images

    /// The Debian 12 image with `padding` MiB of random 16 MiB files in one more layer, loaded into the sandbox's
    /// repository; the padded archive is made once and kept in BENCH_CACHE (default /var/tmp/udocker-launch-bench-cache).
    func sized(_ padding: Int) throws -> Sized {
        var reference = image.reference
        if padding > 0 {
            let archive = try paddedArchive(padding)
            let name = "bench/debian-pad\(padding)"
            let loaded = try sandbox.udocker(["load", "-i", archive, name], timeout: .seconds(900))
            guard loaded.succeeded else { throw BenchError("load of \(archive) failed: \(loaded)") }
            reference = name + ":" + image.tag
        }
        let squashfsDirectory = sandbox.udockerDir + "/squashfs"
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: squashfsDirectory)) ?? [])
        let scratch = try sandbox.makeDirectory("stage-once-\(padding)")
        let start = DispatchTime.now().uptimeNanoseconds
        let staged = try sandbox.run([launcher, "--scratch=" + scratch, "stage", reference], timeout: .seconds(900))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard staged.succeeded else { throw BenchError("stage of \(reference) failed: \(staged)") }
        let built = Set(try FileManager.default.contentsOfDirectory(atPath: squashfsDirectory)).subtracting(before)
            .filter { $0.hasSuffix(".sqfs") }
        guard built.count == 1, let file = built.first else { throw BenchError("stage built \(built.sorted()) in \(squashfsDirectory): \(staged)") }
        note("   \(reference): SquashFS of \(Files.size(squashfsDirectory + "/" + file) >> 20) MiB built in \(String(format: "%.1f", seconds)) s")
        return Sized(reference: reference, padding: padding, squashfs: squashfsDirectory + "/" + file,
                     squashfsBytes: Files.size(squashfsDirectory + "/" + file), buildSeconds: seconds)
    }

    func paddedArchive(_ padding: Int) throws -> String {
        let cache = ProcessInfo.processInfo.environment["BENCH_CACHE"] ?? "/var/tmp/udocker-launch-bench-cache"
        // Named by the fixture's layers (their uncompressed digests are the same every time it is rebuilt; its
        // config's digest is not: umoci dates it).
        let layers = image.diffIDs.map { $0.replacingOccurrences(of: "sha256:", with: "").prefix(8) }.joined(separator: "-")
        let archive = cache + "/debian12-\(layers)-pad\(padding)M.tar"
        if Files.exists(archive) {
            note("   \(archive): made before, reused")
            return archive
        }
        try Files.makeDirectory(cache)
        let work = cache + "/work-\(UUID().uuidString.prefix(8))"
        defer { Files.removeTree(work) }
        try Files.makeDirectory(work)
        try FileManager.default.copyItem(atPath: image.ociLayout, toPath: work + "/oci")
        let script = """
            set -e
            mkdir \(work)/pad
            for i in $(seq 1 \(padding / 16)); do head -c 16M /dev/urandom > \(work)/pad/random-$i; done
            tar --owner=0 --group=0 -C \(work) -cf \(work)/layer.tar pad
            rm -r \(work)/pad
            umoci raw add-layer --image \(work)/oci:\(image.tag) \(work)/layer.tar
            umoci gc --layout \(work)/oci
            tar -C \(work)/oci -cf \(archive).partial oci-layout index.json blobs
            chmod 0644 \(archive).partial
            mv \(archive).partial \(archive)
            """
        let made = try Command.run(["bash", "-c", script], timeout: .seconds(1800))
        guard made.succeeded else { throw BenchError("padding the image failed: \(made)") }
        chmod(cache, 0o755)
        return archive
    }

    // MARK: cold start

    struct ColdStarts {
        /// Seconds per padding and stage, one sample per round; warm: the mounted step again on its stage.
        var cold: [Int: [String: [Double]]] = [:]
        var warm: [Int: [Double]] = [:]
        var native: [Double] = []
    }

    func coldStarts(_ images: [Sized]) throws -> ColdStarts {
        var results = ColdStarts()
        let step = ["-N2", "-n4"]
        for round in 0..<repetitions {
            results.native.append(try timed(step + ["true"]))
            // Each round starts at another image and another stage, so no cell always follows the same one.
            for image in rotated(images, by: round) {
                for stage in rotated(Self.stages, by: round) {
                    let scratch = try freshScratch()
                    defer { removeScratch(scratch) }
                    let command = step + [launcher, "--scratch=" + scratch, "--stage=" + stage, image.reference, "--", "true"]
                    results.cold[image.padding, default: [:]][stage, default: []].append(try timed(command))
                    if stage == "mount" { results.warm[image.padding, default: []].append(try timed(command)) }
                }
            }
            note("   round \(round + 1) of \(repetitions) done")
        }
        return results
    }

    func rotated<T>(_ values: [T], by count: Int) -> [T] {
        let k = count % values.count
        return Array(values[k...] + values[..<k])
    }

    /// A new directory the nodes see as /scratch/NAME, the test user's.
    func freshScratch() throws -> String {
        let name = "cold-" + UUID().uuidString.prefix(8).lowercased()
        for node in cluster.nodeNames { try Files.makeDirectory(cluster.scratch(node) + "/" + name, owner: sandbox.user) }
        return "/scratch/" + name
    }

    func removeScratch(_ scratch: String) {
        for node in cluster.nodeNames { Files.removeTree(cluster.scratch(node) + scratch.dropFirst("/scratch".count)) }
    }

    /// Seconds of one step. A mounted step that fell back to extraction is no sample: it runs again once /dev/fuse
    /// is usable again (see `waitForFuse`).
    func timed(_ arguments: [String]) throws -> Double {
        for _ in 1...3 {
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try cluster.srun(arguments, in: sandbox, timeout: .seconds(600))
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            // /dev/fuse made 0600 between the rank's plan and the keeper's mount fails the step instead.
            let unmounted = result.err.contains("cannot mount") || result.err.contains("/dev/fuse is not")
            guard result.succeeded || unmounted else { throw BenchError("timed step failed: \(result)") }
            guard unmounted else { return seconds }
            note("   not mounted (\(result.errLines.first ?? "")): run again")
            waitForFuse()
            if let scratch = arguments.first(where: { $0.hasPrefix("--scratch=") })?.dropFirst("--scratch=".count), scratch.hasPrefix("/scratch/cold-") {
                // The fallback extracted a stage there: the next try must be cold again.
                removeScratch(String(scratch))
                for node in cluster.nodeNames { try Files.makeDirectory(cluster.scratch(node) + scratch.dropFirst("/scratch".count), owner: sandbox.user) }
            }
        }
        throw BenchError("\(arguments) did not mount three times")
    }

    /// A test run meanwhile may hold /dev/fuse 0600 for its fallback case (seconds), or put it back to 0600 when its
    /// process ends (it was 0600 when it started). Waits a minute for the first; past that, makes it 0666 again as
    /// this benchmark's test world did at its start.
    func waitForFuse() {
        var st = stat()
        for _ in 0..<60 {
            if stat("/dev/fuse", &st) == 0, st.st_mode & 0o777 == FuseDevice.worldMode { return }
            sleep(1)
        }
        note("   /dev/fuse is \(String(st.st_mode & 0o777, radix: 8)) for a minute: made \(String(FuseDevice.worldMode, radix: 8)) again")
        chmod("/dev/fuse", FuseDevice.worldMode)
    }

    func touchedBytes(_ image: Sized) throws -> Touched {
        // Drops only this file's pages (POSIX_FADV_DONTNEED through dd's nocache), nothing else of the machine's.
        let dropped = try Command.run(["dd", "if=/dev/null", "of=" + image.squashfs, "oflag=nocache", "conv=notrunc,fdatasync", "count=0"])
        guard dropped.succeeded else { throw BenchError("\(dropped)") }
        let before = try resident(image.squashfs)
        let scratch = try freshScratch()
        defer { removeScratch(scratch) }
        let seconds = try timed(["-N1", "-n1", launcher, "--scratch=" + scratch, "--stage=mount", image.reference, "--", "true"])
        let bytes = try resident(image.squashfs) - before
        note("   \(image.reference): a cold mounted step read \(bytes >> 10) KiB of its \(image.squashfsBytes >> 20) MiB SquashFS in \(String(format: "%.2f", seconds)) s")
        return Touched(bytes: bytes, seconds: seconds)
    }

    func resident(_ file: String) throws -> Int64 {
        let result = try Command.run(["fincore", "--bytes", "--noheadings", "--output", "RES", file])
        guard result.succeeded, let bytes = Int64(result.out.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw BenchError("\(result)") }
        return bytes
    }

    // MARK: ping-pong

    struct Configuration {
        let name: String
        /// The launcher's options, or nil for the native program.
        let options: [String]?
    }

    var oneNodeConfigurations: [Configuration] {
        [Configuration(name: "native", options: nil),
         Configuration(name: "U1 mounted", options: ["--stage=mount"]),
         Configuration(name: "U1 mounted --bind=none", options: ["--stage=mount", "--bind=none"]),
         Configuration(name: "U1 extracted", options: ["--stage=extract", "--execmode=U1"]),
         Configuration(name: "F3 extracted", options: ["--stage=extract"])]
    }

    var twoNodeConfigurations: [Configuration] {
        [Configuration(name: "native", options: nil),
         Configuration(name: "U1 mounted", options: ["--stage=mount"]),
         Configuration(name: "F3 extracted", options: ["--stage=extract"])]
    }

    /// The rank's command line in a configuration (the scratch is kept between runs: stages are reused).
    func command(_ configuration: Configuration, _ program: [String], nativeProgram: [String]) -> [String] {
        guard let options = configuration.options else { return nativeProgram }
        return [launcher, "--scratch=/scratch/pingpong"] + options + [image.reference, "--"] + program
    }

    func pingpong(_ configurations: [Configuration], nodes: [String]) throws -> [String: [Int: Double]] {
        var samples: [String: [Int: [Double]]] = [:]
        for round in 0..<pingpongRepetitions {
            for configuration in rotated(configurations, by: round) {
                let argv = nodes + ["--mpi=pmix"] + command(configuration, [MPIFixtures.pingpongPath], nativeProgram: [native.pingpong])
                let result = try cluster.srun(argv, in: sandbox, timeout: .seconds(180))
                guard result.succeeded, !result.err.contains("cannot mount") else {
                    note("   \(configuration.name) failed (round \(round + 1)): \(result.errLines.suffix(3).joined(separator: " | "))")
                    if result.err.contains("cannot mount") || result.err.contains("/dev/fuse is not") { waitForFuse() }
                    continue
                }
                for line in result.lines where !line.hasPrefix("#") {
                    let fields = line.split(separator: " ")
                    guard fields.count == 3, let size = Int(fields[0]), let latency = Double(fields[1]) else { continue }
                    samples[configuration.name, default: [:]][size, default: []].append(latency)
                }
            }
            note("   \(nodes.joined(separator: " ")): round \(round + 1) of \(pingpongRepetitions) done")
        }
        return samples.mapValues { $0.mapValues(median) }
    }

    // MARK: what explains the numbers

    struct Probe {
        let name: String
        /// Lines the probe printed, one per rank and fact.
        let lines: [String]
    }

    /// Per one-node configuration: the mode taken, each rank's CPUs, the CMA system calls of one ping-pong run, and
    /// the file systems of /tmp and of the files Open MPI maps for shared memory.
    func explain() throws -> [Probe] {
        let where_ = #"echo "rank $SLURM_PROCID cpus $(sed -n 's/^Cpus_allowed_list:\t//p' /proc/self/status) tmp $(stat -f -c %T /tmp) TMPDIR=${TMPDIR:-unset}"; "#
            + MPIFixtures.pingpongPath + #" >/dev/null & pid=$!; sleep 1; "#
            + #"for f in $(awk '$6 ~ /^\// && $2 ~ /s/ {print $6}' /proc/$pid/maps | sort -u); do echo "rank $SLURM_PROCID shared $f on $(stat -f -c %T "$(dirname "$f")")"; done; wait $pid"#
        var probes: [Probe] = []
        for configuration in oneNodeConfigurations {
            var lines: [String] = []
            if let options = configuration.options {
                let dry = try cluster.srun(["-N1", "-n1", launcher, "--scratch=/scratch/pingpong", "--dry-run"] + options + [image.reference, "--", "true"],
                                           in: sandbox, timeout: .seconds(120))
                lines += (dry.lines + dry.errLines).filter { $0.hasPrefix("mode") || $0.hasPrefix("placement") }
            }
            let nativeWhere = ["sh", "-c", where_.replacingOccurrences(of: MPIFixtures.pingpongPath, with: native.pingpong)]
            let located = try cluster.srun(["-N1", "-n2", "--mpi=pmix"] + command(configuration, ["sh", "-c", where_], nativeProgram: nativeWhere),
                                           in: sandbox, timeout: .seconds(180))
            lines += located.lines.filter { $0.hasPrefix("rank ") }.sorted()
            if !located.succeeded { lines.append("(probe failed: \(located.errLines.suffix(2).joined(separator: " | ")))") }
            // strace -c on each rank (and, for the launcher, everything it starts): the CMA calls Open MPI made.
            let strace = ["strace", "-f", "-qq", "-c", "-e", "trace=process_vm_readv,process_vm_writev"]
            let traced = try cluster.srun(["-N1", "-n2", "--mpi=pmix"] + strace
                                          + command(configuration, [MPIFixtures.pingpongPath], nativeProgram: [native.pingpong]),
                                          in: sandbox, timeout: .seconds(300))
            let calls = traced.errLines.filter { $0.contains("process_vm_") }.map { line -> String in
                let fields = line.split(separator: " ")
                return "CMA \(fields.last ?? "?"): \(fields.count >= 4 ? String(fields[3]) : "?") calls"
            }
            lines += calls.isEmpty ? ["CMA: no process_vm_readv/writev calls" + (traced.succeeded ? "" : " (run failed: \(traced.errLines.suffix(2).joined(separator: " | ")))")] : calls
            probes.append(Probe(name: configuration.name, lines: lines))
            note("   \(configuration.name): \(lines.joined(separator: "; "))")
        }
        return probes
    }

    // MARK: report

    func write(images: [Sized], cold: ColdStarts, touched: [Touched], local: [String: [Int: Double]], remote: [String: [Int: Double]], probes: [Probe]) throws {
        func f(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
        let nativeStep = median(cold.native)
        var data = "\"image MB\" \"--stage=extract\" \"--stage=mount\" \"--stage=copy\" \"mount, warm\" \"native srun true\"\n"
        var table = """
            | image (SquashFS) | build once | extract | mount | copy | mount, warm | native | mount / extract | mount / warm | mount / native | copy / mount |
            | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |

            """
        for image in images {
            let cells = cold.cold[image.padding] ?? [:]
            let extract = median(cells["extract"] ?? []), mount = median(cells["mount"] ?? []), copy = median(cells["copy"] ?? [])
            let warm = median(cold.warm[image.padding] ?? [])
            let megabytes = Double(image.squashfsBytes) / 1e6
            data += "\(f(megabytes, 0)) \(f(extract, 3)) \(f(mount, 3)) \(f(copy, 3)) \(f(warm, 3)) \(f(nativeStep, 3))\n"
            table += "| \(f(megabytes, 0)) MB | \(f(image.buildSeconds)) s | \(f(extract)) s | \(f(mount)) s | \(f(copy)) s | \(f(warm)) s | \(f(nativeStep)) s "
                + "| \(f(mount / extract)) | \(f(mount / warm)) | \(f(mount / nativeStep)) | \(f(copy / mount)) |\n"
        }
        try data.write(toFile: output + "/coldstart.dat", atomically: true, encoding: .utf8)
        let smallest = images.first.flatMap { cold.cold[$0.padding]?["mount"] }.map(median)
        let largest = images.last.flatMap { cold.cold[$0.padding]?["mount"] }.map(median)
        let flatness = smallest.flatMap { s in largest.map { f($0 / s) } } ?? "—"

        try writeTable(local, columns: oneNodeConfigurations.map(\.name), to: output + "/pingpong-mounted-1node.dat")
        try writeTable(remote, columns: twoNodeConfigurations.map(\.name), to: output + "/pingpong-mounted-2node.dat")
        let host = ProcessInfo.processInfo
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        let summary = """
            # udocker-launch: mounted images (issue 17)

            \(ISO8601DateFormatter().string(from: Date())), \(host.processorCount) CPUs, load average at the end \(load), \
            \(repetitions) interleaved rounds of cold steps and \(pingpongRepetitions) of ping-pong, medians. Two SLURM nodes on one machine (TestSupport's SlurmCluster).

            ## Cold 4-rank step on two nodes, every rank `true` (s)

            Cold: a fresh --scratch on both nodes per cell; the image's repository SquashFS built beforehand ("build once":
            `udocker-launch stage IMAGE` on the host, which builds it). The SquashFS and the layers are in the page cache.

            \(table)
            Mounted cold start, largest image / smallest: \(flatness).

            ## What a mounted step reads of the image (one rank, `true`, the file dropped from the page cache first)

            | image (SquashFS) | bytes read of it (fincore) | share of the file | step from disk |
            | ---: | ---: | ---: | ---: |
            \(zip(images, touched).map { image, t in
                "| \(f(Double(image.squashfsBytes) / 1e6, 0)) MB | \(f(Double(t.bytes) / 1e6, 1)) MB | \(f(100 * Double(t.bytes) / Double(image.squashfsBytes), 1)) % | \(f(t.seconds)) s |"
            }.joined(separator: "\n"))

            ## Ping-pong on one node (half round-trip, µs)

            \(latencyTable(local, oneNodeConfigurations))
            ## Ping-pong across two nodes

            \(latencyTable(remote, twoNodeConfigurations))
            ## What ran (one node): mode, CPUs of each rank, CMA calls of one run (strace -c), shared-memory files

            \(probes.map { "- **\($0.name)**\n" + $0.lines.map { "  - `\($0)`" }.joined(separator: "\n") }.joined(separator: "\n"))

            """
        try summary.write(toFile: output + "/mounted.md", atomically: true, encoding: .utf8)
        print(summary)
    }

    func latencyTable(_ results: [String: [Int: Double]], _ configurations: [Configuration]) -> String {
        let sizes = Set(results.values.flatMap(\.keys)).sorted()
        var text = "| size | " + configurations.map { $0.name + " µs" }.joined(separator: " | ") + " | "
            + configurations.dropFirst().map { $0.name + " / native" }.joined(separator: " | ") + " |\n"
        text += "|" + String(repeating: " ---: |", count: 2 * configurations.count) + "\n"
        for size in sizes {
            let base = results["native"]?[size]
            text += "| \(size) | " + configurations.map { results[$0.name]?[size].map { String(format: "%.2f", $0) } ?? "failed" }.joined(separator: " | ")
            text += " | " + configurations.dropFirst().map { c in
                guard let value = results[c.name]?[size], let base, base > 0 else { return "—" }
                return String(format: "%.2f", value / base)
            }.joined(separator: " | ") + " |\n"
        }
        return text
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
