import Foundation
import Testing
import TestSupport
import CommandExpectations

/// What a new user notices first: a command the container lacks is status 127 (docker's and udocker's), and
/// `udocker version` names the tools `udocker install` just put in the repository.
@Suite struct FirstHourDetailsTests {
    @Test(arguments: ["P1", "U1"])
    func aCommandTheContainerLacksIsStatus127(_ mode: String) throws {
        let sandbox = try Sandbox()
        try sandbox.createContainer("c", from: Fixtures.busybox())
        try requireSuccess(sandbox.udocker("setup", "--execmode=" + mode, "c"))
        let result = try sandbox.runIn("c", ["no-such-program"])
        #expect(result.status == 127, "\(result)")
        expectOneLineError(result)
        #expect(result.err.contains("command not found or has no execute bit set: no-such-program"), "\(result)")
    }

    @Test func versionNamesTheInstalledTools() throws {
        let sandbox = try Sandbox()
        let before = try sandbox.udocker("version")
        try requireSuccess(before)
        #expect(before.lines.contains("tarball: none (engines from the host)"), "\(before)")

        // A tools tarball in udocker 1.3's layout, release 9.8.7.
        let tools = try sandbox.makeDirectory("tools")
        try Files.makeDirectory(tools + "/udocker_dir/lib")
        try Files.makeDirectory(tools + "/udocker_dir/bin")
        try Files.write("9.8.7\n", to: tools + "/udocker_dir/lib/VERSION")
        try Files.write("#!/bin/sh\n", to: tools + "/udocker_dir/bin/tool", mode: 0o755)
        let tarball = sandbox.directory + "/tools.tar.gz"
        try requireSuccess(Command.run(["tar", "-C", tools, "-czf", tarball, "udocker_dir"]))
        try requireSuccess(Command.run(["chmod", "a+r", tarball]))

        try requireSuccess(sandbox.udocker("install", "--tarball=" + tarball))
        let after = try sandbox.udocker("version")
        try requireSuccess(after)
        #expect(after.lines.contains("tarball: installed in \(sandbox.udockerDir)/lib")
                && after.lines.contains("tarball_release: 9.8.7"), "\(after)")
    }
}
