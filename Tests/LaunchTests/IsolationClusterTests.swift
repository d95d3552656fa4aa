import Foundation
import Testing
import TestSupport
import CommandExpectations

/// Issue 16.8 on the real scheduler: the job array a new user writes, `-v DATA/$SLURM_ARRAY_TASK_ID:/in`, with its
/// tasks running at once on one node of the two-node SLURM, from the one stage that node shares. Before the fix each
/// task re-pointed a link in the shared stage, and read (and wrote) the next task's directory.
@Suite(.serialized, .enabled(if: SlurmCluster.unavailableReason == nil, "\(SlurmCluster.unavailableReason ?? "")"))
struct IsolationClusterTests {
    @Test func aJobArraysTasksOnOneNodeEachReadAndWriteOnlyTheirOwnVolume() throws {
        let world = try JobTemplateClusterTests.world()
        let sandbox = world.sandbox
        let run = UUID().uuidString.prefix(8).lowercased()
        let data = try sandbox.makeDirectory("array-data-\(run)")
        let barrier = try sandbox.makeDirectory("array-barrier-\(run)")
        // A scratch of its own: the world's other tests count the stagings in the node's default one.
        let scratch = try sandbox.makeDirectory("array-scratch-\(run)")
        let tasks = [1, 2]
        for task in tasks {
            let input = try sandbox.makeDirectory("array-data-\(run)/\(task)")
            try Files.write("input of task \(task)\n", to: input + "/id.txt", owner: sandbox.user)
        }

        // Both tasks are inside their containers before either reads: n1 has two cores, so they run side by side.
        // The host shell of the batch script expands $SLURM_ARRAY_TASK_ID, as a user's script would.
        let script = """
            #!/bin/bash
            #SBATCH --nodes=1
            #SBATCH --ntasks=1
            #SBATCH --nodelist=n1
            #SBATCH --array=\(tasks.map(String.init).joined(separator: ","))
            set -eu
            srun udocker-launch --scratch=\(scratch) -v \(data)/$SLURM_ARRAY_TASK_ID:/in -v \(barrier):\(barrier) debian-mpi:12 -- sh -c \\
              "touch \(barrier)/task-$SLURM_ARRAY_TASK_ID; n=0; \\
               until [ -e \(barrier)/task-1 ] && [ -e \(barrier)/task-2 ]; do sleep 0.1; n=\\$((n+1)); [ \\$n -lt 3000 ] || exit 9; done; \\
               cat /in/id.txt; echo 'result of task $SLURM_ARRAY_TASK_ID' > /in/result.txt"
            """
        let (result, outputs) = try world.cluster.submitAndWait(script, in: sandbox, timeout: .seconds(600))
        defer { _ = try? sandbox.run([sandbox.staging.udockerLaunch, "--scratch=" + scratch, "clean"]) }
        try requireSuccess(result)
        let read = outputs.map { $0.split(separator: "\n").filter { $0.hasPrefix("input of task ") }.map(String.init) }
        #expect(read == tasks.map { ["input of task \($0)"] }, "each task's output file, in task order: \(outputs)")
        for task in tasks {
            #expect((try? Files.read("\(data)/\(task)/result.txt")) == "result of task \(task)\n",
                    "task \(task) did not write its own result: \(outputs)")
        }
    }
}
