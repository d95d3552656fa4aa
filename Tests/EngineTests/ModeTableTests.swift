import Foundation
import Testing
import TestSupport
import UdockerCore

/// The mode × behaviour table of issue 3: every execution mode runs a real guest as an unprivileged user and
/// must pass the command's output, exit status, stdin, volumes, environment, user and working directory
/// through. One container per mode is reused across behaviours.
extension EngineSuites {
@Suite struct ModeTableTests {
    static let modes = EngineWorld.tableModes

    @Test("stdout and stderr stay apart and the exit status comes back", arguments: modes)
    func outputAndStatus(mode: ExecMode) throws {
        let result = try EngineWorld.get().run(mode, ["--", "/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"])
        #expect(result.status == 3, "\(result)")
        #expect(result.out == "to-stdout\n", "\(result)")
        #expect(result.err.contains("to-stderr"), "\(result)")
        #expect(!result.err.contains("to-stdout"), "\(result)")
    }

    @Test("stdin through a pipe", arguments: modes)
    func stdinPipe(mode: ExecMode) throws {
        let result = try EngineWorld.get().run(mode, ["--", "cat"], stdin: "piped in\nsecond line\n")
        #expect(result.status == 0, "\(result)")
        #expect(result.out == "piped in\nsecond line\n", "\(result)")
    }

    @Test("a volume is read and written", arguments: modes)
    func volume(mode: ExecMode) throws {
        let world = try EngineWorld.get()
        let dir = try world.sandbox.makeDirectory("vol-" + mode.rawValue)
        try Files.write("from the host\n", to: dir + "/in.txt", owner: world.user)
        let result = try world.run(mode, ["-v", dir + ":/hostvol", "--", "/bin/sh", "-c",
                                          "cat /hostvol/in.txt && echo from-\(mode.rawValue) > /hostvol/out.txt"])
        #expect(result.status == 0, "\(result)")
        #expect(result.out == "from the host\n", "\(result)")
        #expect((try? Files.read(dir + "/out.txt")) == "from-\(mode.rawValue)\n")
    }

    @Test("--env and --env-file, a bare name taking the host's value", arguments: modes)
    func environment(mode: ExecMode) throws {
        let world = try EngineWorld.get()
        let file = try world.sandbox.makeDirectory("env-" + mode.rawValue) + "/vars"
        try Files.write("# comment\nFROM_FILE=file value\n", to: file, owner: world.user)
        let result = try world.run(mode, ["-e", "GIVEN=given value", "--env-file", file, "-e", "UDOCKER_DIR",
                                          "--", "/bin/sh", "-c", "echo \"$GIVEN|$FROM_FILE|$UDOCKER_DIR\""])
        #expect(result.status == 0, "\(result)")
        #expect(result.out == "given value|file value|\(world.sandbox.udockerDir)\n", "\(result)")
    }

    @Test("--workdir", arguments: modes)
    func workdir(mode: ExecMode) throws {
        let result = try EngineWorld.get().run(mode, ["-w", "/etc", "--", "/bin/sh", "-c", "pwd"])
        #expect(result.status == 0, "\(result)")
        #expect(result.out == "/etc\n", "\(result)")
    }

    @Test("--cpuset-cpus pins the command to the CPUs asked for", arguments: modes)
    func cpuset(mode: ExecMode) throws {
        let last = try HostTopology.discover().processingUnits.last!
        let result = try EngineWorld.get().run(mode, ["--cpuset-cpus=\(last)", "--", "/bin/sh", "-c",
                                                      "grep Cpus_allowed_list /proc/self/status"])
        #expect(result.status == 0, "\(result)")
        #expect(result.out.split(separator: "\t").last == "\(last)\n", "\(result)")
    }

    @Test("--user: what each mode can be, and a clear refusal of what it cannot", arguments: modes)
    func user(mode: ExecMode) throws {
        let world = try EngineWorld.get()
        switch mode.identities {
        case .any:
            let other = try world.run(mode, ["-u", "1234:1234", "--", "/bin/sh", "-c", "id -u; id -g"])
            #expect(other.out == "1234\n1234\n", "\(other)")
            let root = try world.run(mode, ["-u", "root", "--", "/bin/sh", "-c", "id -u"])
            #expect(root.out == "0\n", "\(root)")
        case .rootOnly:
            let root = try world.run(mode, ["-u", "root", "--", "id", "-u"])
            #expect(root.out == "0\n", "\(root)")
            let other = try world.run(mode, ["-u", "1234", "--", "id", "-u"])
            #expect(other.status == 1 && other.err.contains("P1 P2 R2 R3"), "\(other)")
        case .invokerOnly:
            let me = try world.run(mode, ["-u", world.user.name, "--", "/bin/sh", "-c", "id -un; id -u"])
            #expect(me.out == "\(world.user.name)\n\(world.user.uid)\n", "\(me)")
            let root = try world.run(mode, ["-u", "0", "--", "id", "-u"])
            #expect(root.status == 1 && root.err.contains("P1 P2 R2 R3"), "\(root)")
        }
    }

    @Test("passwd and group inside the container know the invoking user", arguments: modes)
    func invokingUserKnown(mode: ExecMode) throws {
        let world = try EngineWorld.get()
        let result = try world.run(mode, ["--", "/bin/sh", "-c", "grep '^\(world.user.name):' /etc/passwd | cut -d: -f3"])
        #expect(result.out == "\(world.user.uid)\n", "\(result)")
    }
}
}
