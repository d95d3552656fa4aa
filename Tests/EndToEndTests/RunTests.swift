import Foundation
import Testing
import TestSupport
import CommandExpectations

/// `run` in the proot modes, through the binary as the unprivileged user: output and exit status, stdin,
/// the image's layers and metadata, and the options users reach for first.
@Suite struct RunTests {
    /// One repository for the read-only run tests: busybox loaded, a container per mode named after it.
    static let world = OnceValue<Sandbox>()
    static func sandbox() throws -> Sandbox {
        try world.get {
            let sandbox = try Sandbox("run-world")
            for mode in ["P1", "P2"] {
                try sandbox.createContainer(mode.lowercased(), from: Fixtures.busybox())
                try requireSuccess(sandbox.udocker("setup", "--execmode=\(mode)", mode.lowercased()))
            }
            return sandbox
        }
    }

    static let modes = ["P1", "P2"]

    @Test(arguments: modes)
    func runsInTheChosenMode(mode: String) throws {
        let result = try Self.sandbox().shell(mode.lowercased(), "echo $container_execmode")
        expectSuccess(result)
        #expect(result.out == mode + "\n", "\(result)")
    }

    @Test(arguments: modes)
    func printsTheCommandsOutputAndPropagatesItsExitStatus(mode: String) throws {
        let sandbox = try Self.sandbox(), container = mode.lowercased()
        let echo = try sandbox.runIn(container, ["/bin/echo", "hello", "world"])
        expectSuccess(echo)
        #expect(echo.out == "hello world\n")
        let exit = try sandbox.shell(container, "echo to-stderr >&2; exit 7")
        #expect(exit.status == 7, "\(exit)")
        #expect(exit.err.contains("to-stderr"), "\(exit)")
    }

    @Test(arguments: modes)
    func pipesStdinThrough(mode: String) throws {
        let input = Data((1...2000).map { "line \($0)\n" }.joined().utf8)
        let result = try Self.sandbox().runIn(mode.lowercased(), ["/bin/cat"], stdin: input)
        expectSuccess(result)
        #expect(result.stdout == input)
    }

    @Test(arguments: modes)
    func appliesTheLayersWhiteoutsAndOpaqueDirectories(mode: String) throws {
        let script = BusyboxFixture.deletedPaths.map { "test -e \($0) && echo still-there: \($0)" }.joined(separator: "; ")
            + "; ls -A /opq; " + BusyboxFixture.files.keys.sorted().map { "cat \($0)" }.joined(separator: "; ")
        let result = try Self.sandbox().shell(mode.lowercased(), script)
        let expected = BusyboxFixture.opaqueDirectoryEntries + BusyboxFixture.files.keys.sorted().map {
            BusyboxFixture.files[$0]!.trimmingCharacters(in: .newlines)
        }
        #expect(result.lines == expected, "\(result)")
    }

    @Test(arguments: modes)
    func honoursTheImagesCmdEnvAndWorkingDir(mode: String) throws {
        let sandbox = try Self.sandbox(), container = mode.lowercased()
        let cmd = try sandbox.runIn(container, [])
        expectSuccess(cmd)
        #expect(cmd.out == BusyboxFixture.cmdOutput, "\(cmd)")
        let env = try sandbox.shell(container, "echo $\(BusyboxFixture.greetingVariable); pwd")
        #expect(env.lines == [BusyboxFixture.greeting, BusyboxFixture.workingDir], "\(env)")
    }

    @Test(arguments: modes)
    func setsEnvironmentWorkingDirectoryAndVolumesFromOptions(mode: String) throws {
        let sandbox = try Self.sandbox()
        let volume = try sandbox.makeDirectory("volume-\(mode)")
        try Files.write("from the host\n", to: volume + "/in.txt", owner: sandbox.user)
        let result = try sandbox.shell(mode.lowercased(),
            "echo $NEW $\(BusyboxFixture.greetingVariable); pwd; cat /mnt/vol/in.txt; echo from the container > /mnt/vol/out.txt",
            options: ["-e", "NEW=set-by-option", "-e", "\(BusyboxFixture.greetingVariable)=overridden", "-w", "/etc",
                      "-v", volume + ":/mnt/vol"])
        expectSuccess(result)
        #expect(result.lines == ["set-by-option overridden", "/etc", "from the host"], "\(result)")
        #expect(try Files.read(volume + "/out.txt") == "from the container\n")
    }

    /// `--entrypoint=` is an empty value (clearing the image's entrypoint), not a request for the next argument;
    /// an option-looking word after the container is the command's own.
    @Test func anEmptyOptionValueIsAValue() throws {
        let sandbox = try Self.sandbox()
        let result = try sandbox.udocker(["run", "--nobanner", "--entrypoint=", "p1", "/bin/echo", "hi", "--name="])
        expectSuccess(result)
        #expect(result.out == "hi --name=\n", "\(result)")
    }

    @Test(arguments: modes)
    func removesTheContainerWithRm(mode: String) throws {
        let sandbox = try Sandbox()
        let id = try sandbox.createContainer("doomed", from: Fixtures.busybox())
        try requireSuccess(sandbox.udocker("setup", "--execmode=\(mode)", "doomed"))
        let result = try sandbox.udocker(["run", "--nobanner", "--rm", "doomed", "/bin/sh", "-c", "echo ran; exit 3"])
        #expect(result.status == 3, "\(result)")
        #expect(result.out == "ran\n")
        #expect(try sandbox.listedContainers().isEmpty)
        #expect(!Files.exists(sandbox.repositoryPath("containers/\(id)")))
        #expect(!Files.exists(sandbox.repositoryPath("containers/doomed")))
    }

    @Test func runningAnImageCreatesAContainer() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        let result = try sandbox.udocker(["run", "--nobanner", "--name=from-image", image.reference, "/bin/echo", "made"])
        expectSuccess(result)
        #expect(result.out == "made\n")
        let ps = try sandbox.udocker("ps")
        #expect(ps.lines.dropFirst().count == 1 && ps.lines[1].contains("['from-image']") && ps.lines[1].contains(image.reference), "\(ps)")
        #expect(try sandbox.runIn("from-image", ["/bin/echo", "again"]).out == "again\n")
    }

    @Test func runningAnImageWithRmLeavesNoContainer() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        let result = try sandbox.udocker(["run", "--nobanner", "--rm", image.reference, "/bin/echo", "temporary"])
        expectSuccess(result)
        #expect(result.out == "temporary\n")
        #expect(try sandbox.listedContainers().isEmpty)
    }
}
