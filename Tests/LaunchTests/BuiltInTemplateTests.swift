import Foundation
import Testing
import TestSupport
import CommandExpectations

/// The job templates built into the launcher: a launcher with no share/udocker beside it (an unpacked bundle, a
/// copied binary) writes the same scripts as the installed templates make, and a site's `template_dir` still
/// comes first.
@Suite struct BuiltInTemplateTests {
    /// The staged launcher copied alone into the sandbox: nothing at ../share/udocker.
    private func lonelyLauncher(_ sandbox: Sandbox) throws -> String {
        let bin = try sandbox.makeDirectory("alone") + "/bin"
        try Files.makeDirectory(bin, owner: sandbox.user)
        try Files.copy(sandbox.staging.udockerLaunch, to: bin + "/udocker-launch", mode: 0o755)
        return bin + "/udocker-launch"
    }

    @Test(arguments: JobTemplates.schedulers)
    func aLauncherWithoutInstalledTemplatesWritesTheExamples(_ scheduler: String) throws {
        let sandbox = try Sandbox()
        let launcher = try lonelyLauncher(sandbox)
        #expect(!Files.exists(sandbox.directory + "/alone/share"))
        for name in JobTemplates.examples {
            let example = try JobTemplates.example(scheduler, name)
            let made = try sandbox.run(["/bin/sh", "-c", "exec \"$0\" " + (try JobTemplates.invocation(of: example)), launcher])
            try requireSuccess(made)
            #expect(made.out == example, "\(scheduler)/\(name).sh from the built-in template:\n\(made.out)")
        }
    }

    @Test func aSitesTemplateDirectoryComesFirstAndMustHoldTheTemplate() throws {
        let sandbox = try Sandbox()
        let launcher = try lonelyLauncher(sandbox)
        let site = try sandbox.makeDirectory("site")
        try Files.makeDirectory(site + "/slurm", owner: sandbox.user)
        try Files.write("#!/bin/bash\n{{directives}}\n# site header\n{{run}}\n", to: site + "/slurm/job.sh.in", owner: sandbox.user)
        try Files.makeDirectory(sandbox.home + "/.udocker", owner: sandbox.user)
        try Files.write("template_dir = \(site)\n", to: sandbox.home + "/.udocker/launch.conf", owner: sandbox.user)

        let slurm = try sandbox.run([launcher, "template", "slurm", "img:1", "--", "true"])
        try requireSuccess(slurm)
        #expect(slurm.lines.contains("# site header") && !slurm.out.contains("stage img:1"), "\(slurm)")

        // The site has no PBS template: its template_dir is what it asked for, so that is an error, not ours.
        let pbs = try sandbox.run([launcher, "template", "pbs", "img:1", "--", "true"])
        expectOneLineError(pbs)
        #expect(pbs.err.contains("no pbs/job.sh.in template in \(site)"), "\(pbs)")
    }
}
