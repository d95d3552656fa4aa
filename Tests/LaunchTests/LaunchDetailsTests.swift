import Foundation
import Testing
import TestSupport
import CommandExpectations

/// What a new user notices in the first hour: the stage step says whether it staged or reused, a missing command
/// is status 127, a core count the site cannot check is written but said to be unchecked, and a `-v` naming the
/// array task's variable expands per task.
@Suite struct LaunchDetailsTests {
    static let image = "fixtures/busybox:latest"

    @Test func theStageStepSaysStagedOnceThenReused() throws {
        let node = try LaunchNode()
        try node.sandbox.load(Fixtures.busybox())
        let first = try node.launch(["stage", "--stage=extract", Self.image])
        try requireSuccess(first)
        #expect(first.out.hasPrefix("staged in \(node.area)/stages/image-"), "\(first)")
        let second = try node.launch(["stage", "--stage=extract", Self.image])
        try requireSuccess(second)
        #expect(second.out.hasPrefix("reused the stage in \(node.area)/stages/image-") && !second.out.contains("staged in"),
                "\(second)")
    }

    @Test func aCommandTheContainerLacksIsStatus127() throws {
        let node = try LaunchNode()
        try node.sandbox.load(Fixtures.busybox())
        let result = try node.launch(["--stage=extract", Self.image, "--", "/no/such/program"])
        #expect(result.status == 127, "\(result)")
        expectOneLineError(result)
        #expect(result.err.contains("command not found or has no execute bit set: /no/such/program"), "\(result)")
    }

    @Test func aCoreCountTheSiteCannotCheckIsWrittenAndSaidToBeUnchecked() throws {
        let sandbox = try Sandbox()
        let result = try JobTemplates.generate("template slurm --ntasks-per-node=500 img:1 -- true", in: sandbox)
        try requireSuccess(result)
        #expect(result.lines.contains("#SBATCH --ntasks-per-node=500"), "\(result)")
        #expect(result.err.contains("Warning: --ntasks-per-node=500 × --cpus-per-task=1 (500 cores per node) is not checked")
                && result.err.contains("no cores_per_node"), "\(result)")
        let one = try JobTemplates.generate("template slurm img:1 -- true", in: sandbox)
        #expect(one.succeeded && one.err.isEmpty, "\(one)")
    }

    /// The array task's variable in `-v` and `-e` expands when the step runs (bash, with a stand-in srun that
    /// prints its words); nothing else in the value is live.
    @Test(arguments: [("slurm", "SLURM_ARRAY_TASK_ID"), ("pbs", "PBS_ARRAY_INDEX")])
    func aVolumeNamingTheArrayTaskExpandsPerTask(_ scheduler: String, _ variable: String) throws {
        let sandbox = try Sandbox()
        let made = try JobTemplates.generate("template \(scheduler) --array=1-2 -v '/data/$\(variable):/in' "
                                             + "-e 'TASK=${\(variable)}-$HOME-`id`' img:1 -- cat /in/id.txt", in: sandbox)
        try requireSuccess(made)
        let step = try #require(made.lines.last)
        #expect(step.contains("-v \"/data/${\(variable)}:/in\""), "\(step)")

        let bin = try sandbox.makeDirectory("stubs")
        let stub = "#!/bin/sh\nfor word in \"$@\"; do printf '%s\\n' \"$word\"; done\n"
        for name in ["srun", "mpirun"] { try Files.write(stub, to: bin + "/" + name, mode: 0o755, owner: sandbox.user) }
        try Files.write("node1\n", to: sandbox.directory + "/nodes", owner: sandbox.user)
        let script = sandbox.directory + "/job.sh"
        try Files.write(made.out, to: script, mode: 0o755, owner: sandbox.user)
        for task in ["1", "2"] {
            let ran = try sandbox.run(["/bin/bash", script], env: ["PATH": bin + ":/usr/bin:/bin", variable: task,
                                                                    "SLURM_JOB_NUM_NODES": "1", "PBS_NODEFILE": sandbox.directory + "/nodes"])
            try requireSuccess(ran)
            #expect(ran.lines.contains("/data/\(task):/in"), "task \(task): \(ran)")
            #expect(ran.lines.contains("TASK=\(task)-$HOME-`id`"), "task \(task): \(ran)")
        }
    }
}
