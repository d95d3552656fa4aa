import Foundation
import Testing
import TestSupport
import CommandExpectations

/// One job never changes what another job on the node sees: volumes bound at another path are never links in the
/// node's shared stage (the launcher runs them in U1, and refuses an F mode asked for), and a finished stage is
/// read-only to the jobs that run from it (F modes: a tree without write bits; U1: a writable layer per namespace).
/// The Debian 12 image is the guest F3 is chosen for; the static busybox one runs in U1.
@Suite struct IsolationTests {
    static let busybox = "fixtures/busybox:latest"

    static func node(_ label: String = #function, image: FixtureImage) throws -> LaunchNode {
        let node = try LaunchNode(label)
        try node.sandbox.load(image)
        return node
    }

    /// A directory of the test user's holding `id.txt` with `text`.
    static func input(_ node: LaunchNode, _ name: String, _ text: String) throws -> String {
        let directory = try node.sandbox.makeDirectory(name)
        try Files.write(text, to: directory + "/id.txt", owner: node.sandbox.user)
        return directory
    }

    /// Two tasks of a job array on one node, each with its own input at /in, both inside their command at once,
    /// while a third job without -v starts and ends: each reads its own input and writes its own result.
    @Test func concurrentJobsWithDifferentVolumesOnOneNodeEachReadTheirOwnInput() throws {
        let image = try MPIFixtures.debian12()
        let node = try Self.node(image: image)
        let barrier = try node.sandbox.makeDirectory("barrier")
        let inputs = try (1...2).map { try Self.input(node, "data-\($0)", "input of task \($0)\n") }

        let dryRun = try node.launch(["--stage=extract", "--dry-run", "-v", inputs[0] + ":/in", image.reference, "--", "true"])
        try requireSuccess(dryRun)
        #expect(dryRun.out.contains("F3: -v \(inputs[0]):/in binds a volume at another path"), "\(dryRun)")
        #expect(dryRun.out.contains("mode: U1\n"), "\(dryRun)")

        // Each task says it has started, then reads only once both have and the third job has come and gone.
        let tasks = try (1...2).map { task in
            let script = "touch \(barrier)/task-\(task); n=0; until [ -e \(barrier)/task-1 ] && [ -e \(barrier)/task-2 ] "
                + "&& [ -e \(barrier)/other-done ]; do sleep 0.1; n=$((n+1)); [ $n -lt 4000 ] || exit 9; done; "
                + "cat /in/id.txt; echo \"result of task \(task)\" > /in/result.txt"
            return try node.start(["--stage=extract", "-v", inputs[task - 1] + ":/in", "-v", barrier + ":" + barrier, image.reference, "--", "sh", "-c", script],
                                  env: LaunchNode.slurmRank(0, of: 1, job: "20\(task)"), timeout: .seconds(600))
        }
        #expect(Poll.until(timeout: .seconds(240)) { Files.exists(barrier + "/task-1") && Files.exists(barrier + "/task-2") },
                "the tasks never started")
        let other = try node.launch(["--stage=extract", image.reference, "--", "sh", "-c", "test -e /in && echo /in is there || echo no /in"],
                                    env: LaunchNode.slurmRank(0, of: 1, job: "300"), timeout: .seconds(300))
        try Files.write("", to: barrier + "/other-done")
        let results = tasks.map { $0.wait() }

        for (index, result) in results.enumerated() {
            expectSuccess(result)
            #expect(result.out == "input of task \(index + 1)\n", "\(result)")
            #expect(try Files.read(inputs[index] + "/result.txt") == "result of task \(index + 1)\n")
        }
        expectSuccess(other)
        #expect(other.out == "no /in\n", "\(other)")
    }

    /// An F mode asked for with a volume at another path is refused before anything is staged, with what to do;
    /// a volume at its own path keeps working in F3, relative paths in it included.
    @Test func anFModeAskedForWithAVolumeAtAnotherPathIsRefusedAndOneAtItsOwnPathWorks() throws {
        let image = try MPIFixtures.debian12()
        let node = try Self.node(image: image)
        let data = try Self.input(node, "data", "input\n")

        let refused = try node.launch(["--stage=extract", "--execmode=F3", "-v", data + ":/in", image.reference, "--", "cat", "/in/id.txt"])
        expectOneLineError(refused)
        #expect(refused.err.contains("cannot bind \(data) at /in with --execmode=F3") && refused.err.contains("-v \(data):\(data)"),
                "\(refused)")
        #expect(node.stages.isEmpty, "staged before refusing: \(node.stages)")

        let samePath = try node.launch(["--stage=extract", "--execmode=F3", "-v", data + ":" + data, "-w", data, image.reference, "--",
                                        "sh", "-c", "echo $container_execmode; /bin/pwd; cat ./id.txt; ls ."])
        try requireSuccess(samePath)
        #expect(samePath.lines == ["F3", data, "input", "id.txt"], "\(samePath)")
    }

    /// `-w` inside a volume at another path: the launcher runs it in U1, where the container's path is the working
    /// directory and relative paths work; `udocker run` in F3 on the user's own container refuses it in one line.
    @Test func aWorkingDirectoryInsideAVolumeAtAnotherPathHasWorkingRelativePaths() throws {
        let image = try MPIFixtures.debian12()
        let node = try Self.node(image: image)
        let data = try Self.input(node, "data", "input\n")

        let launched = try node.launch(["--stage=extract", "-v", data + ":/in", "-w", "/in", image.reference, "--",
                                        "sh", "-c", "/bin/pwd; cat ./id.txt; ls .; echo out > ./made.txt"])
        try requireSuccess(launched)
        #expect(launched.lines == ["/in", "input", "id.txt"], "\(launched)")
        #expect(try Files.read(data + "/made.txt") == "out\n")

        try requireSuccess(node.sandbox.udocker(["create", "--name=deb", image.reference], timeout: .seconds(300)))
        try requireSuccess(node.sandbox.udocker(["setup", "--execmode=F3", "deb"], timeout: .seconds(300)))
        let run = try node.sandbox.udocker(["run", "-v", data + ":/in", "-w", "/in", "deb", "/bin/pwd"])
        expectOneLineError(run)
        #expect(run.err.contains("cannot work in /in") && run.err.contains("-v \(data):\(data) -w \(data)"), "\(run)")
        // Outside the volume the link udocker 1.3 makes still serves the user's own container.
        let linked = try node.sandbox.udocker(["run", "-v", data + ":/in", "deb", "cat", "/in/id.txt"])
        try requireSuccess(linked)
        #expect(linked.out == "input\n", "\(linked)")
    }

    /// F3 (the Debian guest's mode): a job that deletes a file of the image, or tries to write one, changes nothing
    /// the next job sees; its /tmp and the volumes it asked for take its writes; `clean` still removes the stage.
    @Test func inF3AFileAJobDeletesIsStillThereForTheNextJob() throws {
        let image = try MPIFixtures.debian12()
        let node = try Self.node(image: image)
        let out = try node.sandbox.makeDirectory("out")
        let first = try node.launch(["--stage=extract", "-v", out + ":" + out, image.reference, "--", "sh", "-c",
                                     "echo $container_execmode; rm -f /usr/bin/perl /etc/debian_version; echo changed > /usr/lib/os-release; "
                                     + "rm -rf /usr/share/perl5; echo scratch > /tmp/note && cat /tmp/note; echo kept > \(out)/result"],
                                    env: LaunchNode.slurmRank(0, of: 1, job: "401"))
        #expect(first.lines.first == "F3" && first.lines.contains("scratch"), "\(first)")
        #expect(try Files.read(out + "/result") == "kept\n")

        let next = try node.launch(["--stage=extract", image.reference, "--", "sh", "-c",
                                    "test -x /usr/bin/perl && cat /etc/debian_version && head -n 1 /usr/lib/os-release && ls -d /usr/share/perl5"],
                                   env: LaunchNode.slurmRank(0, of: 1, job: "402"))
        try requireSuccess(next)
        #expect(next.lines.count == 3 && next.lines[0].hasPrefix("12.") && next.lines[1] == #"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)""#
                && next.lines[2] == "/usr/share/perl5", "\(next)")

        let clean = try node.launch(["clean"])
        try requireSuccess(clean)
        #expect(node.stages.isEmpty, "\(clean)\n\(node.stages)")
    }

    /// U1 (the busybox guest's mode): the image's files are read-only to a job, its /tmp and the mount points of
    /// its volumes are its own, and the next job finds the stage as it was.
    @Test func inU1AJobsChangesStayInItsOwnLayer() throws {
        let node = try Self.node(image: try Fixtures.busybox())
        let data = try Self.input(node, "data", "input\n")
        let first = try node.launch(["--stage=extract", "-v", data + ":/fresh/in", Self.busybox, "--", "sh", "-c",
                                     "echo $container_execmode; rm -f /etc/fixture-release || echo refused; "
                                     + "echo scratch > /tmp/note && cat /tmp/note; cat /fresh/in/id.txt; echo kept > /fresh/in/result"],
                                    env: LaunchNode.slurmRank(0, of: 1, job: "501"))
        try requireSuccess(first)
        #expect(first.lines == ["U1", "refused", "scratch", "input"], "\(first)")
        #expect(try Files.read(data + "/result") == "kept\n")

        let next = try node.launch(["--stage=extract", Self.busybox, "--", "sh", "-c",
                                    "cat /etc/fixture-release; test -e /tmp/note && echo note; test -e /fresh && echo fresh; true"],
                                   env: LaunchNode.slurmRank(0, of: 1, job: "502"))
        try requireSuccess(next)
        #expect(next.out == "busybox fixture\n", "\(next)")
        #expect(!Files.exists(node.area + "/stages/" + (node.stages.first ?? "") + "/ROOT/fresh"), "a mount point was made in the stage")
    }

    /// R1 runs as root of a user namespace, which mode bits do not stop, and P1 as the user: in both, a job that
    /// deletes or rewrites a file of the image is refused, its /tmp takes its writes, and the next job finds the
    /// stage as it was.
    @Test(arguments: ["R1", "P1"]) func aJobInAnotherModeCannotChangeTheStage(_ mode: String) throws {
        let node = try Self.node("stage-\(mode)", image: try Fixtures.busybox())
        let first = try node.launch(["--stage=extract", "--execmode=" + mode, Self.busybox, "--", "sh", "-c",
                                     "echo $container_execmode; rm -f /etc/fixture-release || echo refused; "
                                     + "(echo changed > /etc/fixture-release) 2>/dev/null || echo refused; "
                                     + "echo scratch > /tmp/note && cat /tmp/note"],
                                    env: LaunchNode.slurmRank(0, of: 1, job: "601"))
        try requireSuccess(first)
        #expect(first.lines == [mode, "refused", "refused", "scratch"], "\(first)")

        let next = try node.launch(["--stage=extract", "--execmode=" + mode, Self.busybox, "--", "cat", "/etc/fixture-release"],
                                   env: LaunchNode.slurmRank(0, of: 1, job: "602"))
        try requireSuccess(next)
        #expect(next.out == "busybox fixture\n", "\(next)")
    }
}
