import Foundation
import Testing
import TestSupport
import UdockerCore

/// What only some modes do: F3's baked-in location, F4's patching of programs added later, the proot
/// limitation report, the static-guest refusal of F modes, S1 where apptainer exists.
extension EngineSuites {
@Suite struct ModeSpecificTests {
    @Test("F3: a container copied to another path says how to fix it, and setup --force there fixes it")
    func f3Moved() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.F3)
        let other = try world.sandbox.makeDirectory("moved-repo")
        let containers = world.sandbox.udockerDir + "/containers/"
        let id = try FileManager.default.destinationOfSymbolicLink(atPath: containers + name)
        let copy = try world.sandbox.run(["/bin/sh", "-c", "mkdir -p \(other)/containers && cp -a \(containers)\(id) \(other)/containers/ "
                                          + "&& ln -s \(id) \(other)/containers/\(name)"])
        #expect(copy.succeeded, "\(copy)")
        let env = ["UDOCKER_DIR": other]
        let refused = try world.sandbox.udocker(["run", "--nobanner", name, "true"], env: env)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.err.contains("setup --execmode=F3 --force"), "\(refused)")
        let setup = try world.sandbox.udocker(["setup", "--execmode=F3", "--force", name], env: env)
        #expect(setup.succeeded, "\(setup)")
        let ran = try world.sandbox.udocker(["run", "--nobanner", name, "/bin/sh", "-c", "echo moved fine"], env: env)
        #expect(ran.out == "moved fine\n", "\(ran)")
        // The original, untouched, still runs where it was set up.
        #expect(try world.run(.F3, ["--", "echo", "still here"]).out == "still here\n")
    }

    @Test("F3: a clone is re-patched for its own location and runs at once, as udocker 1.3 does")
    func f3Cloned() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.F3)
        let clone = try world.sandbox.udocker(["clone", name])
        #expect(clone.succeeded, "\(clone)")
        let id = clone.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let ran = try world.sandbox.udocker(["run", "--nobanner", id, "/bin/sh", "-c", "echo clone runs"])
        #expect(ran.out == "clone runs\n", "\(ran)")
        let interpreter = try Command.run(["patchelf", "--print-interpreter",
                                           world.sandbox.udockerDir + "/containers/" + id + "/ROOT/bin/sh"])
        #expect(interpreter.out.contains("/containers/" + id + "/ROOT"), "\(interpreter)")
        #expect(try world.sandbox.udocker(["rm", id]).succeeded)
    }

    @Test("An F3 container run in U1: its programs are restored first, and the namespace is still created")
    func f3RunInU1() throws {
        let world = try EngineWorld.get()
        let clone = try world.sandbox.udocker(["clone", try world.container(.F3)])
        try #require(clone.succeeded, "\(clone)")
        let id = clone.out.trimmingCharacters(in: .whitespacesAndNewlines)
        // Restoring runs patchelf over many files at once: by processes, since threads would forbid unshare().
        let ran = try world.sandbox.udocker(["run", "--nobanner", "--execmode=U1", id, "/bin/sh", "-c", "echo restored and in U1"])
        #expect(ran.out == "restored and in U1\n", "\(ran)")
        #expect(try world.sandbox.udocker(["rm", id]).succeeded)
    }

    @Test("F3 → P1 → F3: programs get their original bytes back, and patching again does not grow them")
    func f3RestoresOriginalBytes() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.F3)
        let program = world.sandbox.udockerDir + "/containers/" + name + "/ROOT/usr/bin/ls"
        let original = try Data(contentsOf: URL(fileURLWithPath: world.debianBase + "/usr/bin/ls"))
        let patchedSize = Files.size(program)
        #expect(try Data(contentsOf: URL(fileURLWithPath: program)) != original, "F3 should have patched /usr/bin/ls")
        for _ in 0..<2 {
            #expect(try world.sandbox.udocker(["setup", "--execmode=P1", name]).succeeded)
            #expect(try Data(contentsOf: URL(fileURLWithPath: program)) == original)
            #expect(try world.sandbox.udocker(["setup", "--execmode=F3", name]).succeeded)
            #expect(Files.size(program) == patchedSize)
        }
        #expect(try world.run(.F3, ["--", "ls", "/usr/bin/ls"]).out == "/usr/bin/ls\n")
    }

    @Test("An image's /etc/passwd symlink stays a symlink through F runs and setup --purge, its target whole")
    func accountSymlinkSurvivesRunsAndPurge() throws {
        let world = try EngineWorld.get()
        let clone = try world.sandbox.udocker(["clone", try world.container(.F1)])
        try #require(clone.succeeded, "\(clone)")
        let id = clone.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let root = world.sandbox.udockerDir + "/containers/" + id + "/ROOT"
        let moved = try world.sandbox.run(["/bin/sh", "-c", "mv \(root)/etc/passwd \(root)/usr/lib/passwd && ln -s /usr/lib/passwd \(root)/etc/passwd"])
        try #require(moved.succeeded, "\(moved)")
        let original = try Files.read(root + "/usr/lib/passwd")
        // Set up again, as for an image that shipped the link: F modes make absolute links relative.
        #expect(try world.sandbox.udocker(["setup", "--execmode=F1", "--force", id]).succeeded)
        let ran = try world.sandbox.udocker(["run", "--nobanner", id, "/bin/sh", "-c", "id -un; grep -c . /etc/passwd"])
        #expect(ran.lines == [world.user.name, String(original.split(separator: "\n").count + 1)], "\(ran)")
        #expect(Files.isSymlink(root + "/etc/passwd"), "the run replaced the link")

        #expect(try world.sandbox.udocker(["setup", "--purge", id]).succeeded)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/etc/passwd")) == "/usr/lib/passwd")
        #expect(try Files.read(root + "/usr/lib/passwd") == original)
        #expect(try world.sandbox.udocker(["rm", id]).succeeded)
    }

    @Test("F4: a dynamically linked program copied in after setup runs and gets patched")
    func f4NewProgram() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.F4)
        let root = world.sandbox.udockerDir + "/containers/" + name + "/ROOT"
        let copy = try world.sandbox.run(["cp", "/usr/bin/env", root + "/usr/local/bin/newprog"])
        #expect(copy.succeeded, "\(copy)")
        let result = try world.run(.F4, ["--", "newprog", "NEW=yes", "/bin/sh", "-c", "echo $NEW"])
        #expect(result.out == "yes\n", "\(result)")
        let interpreter = try Command.run(["patchelf", "--print-interpreter", root + "/usr/local/bin/newprog"])
        #expect(interpreter.out.hasPrefix(RunPreparation.realPath(root)), "\(interpreter)")
    }

    @Test("F modes: a volume onto an empty directory of the image works, as in udocker 1.3, and the directory comes back")
    func fakechrootVolumeOntoEmptyDirectory() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.F1)
        let data = try world.sandbox.makeDirectory("f-volume")
        try Files.write("from the host\n", to: data + "/note")
        try shell(["chown", "-R", "\(world.user.uid):\(world.user.gid)", data])
        let root = world.sandbox.udockerDir + "/containers/" + name + "/ROOT"
        #expect(FileSystem.isDirectory(root + "/mnt") && Files.list(root + "/mnt").isEmpty, "bookworm has an empty /mnt")

        let bound = try world.run(.F1, ["-v", data + ":/mnt", "--", "/bin/cat", "/mnt/note"])
        #expect(bound.succeeded && bound.out == "from the host\n", "\(bound)")
        let again = try world.run(.F1, ["-v", data + ":/mnt", "--", "/bin/cat", "/mnt/note"])
        #expect(again.out == "from the host\n", "a second run with the same volume: \(again)")

        let unbound = try world.run(.F1, ["--", "/bin/sh", "-c", "test -d /mnt && test ! -L /mnt && ls -A /mnt | wc -l"])
        #expect(unbound.out == "0\n", "without the volume /mnt is the image's empty directory again: \(unbound)")
        #expect(!FileSystem.isSymlink(root + "/mnt"))

        let full = try world.run(.F1, ["-v", data + ":/etc/apt", "--", "true"])
        #expect(full.status == 1, "\(full)")
        #expect(full.err.contains("cannot bind \(data) at /etc/apt: the container has a directory that is not empty there"), "\(full)")
    }

    @Test("P modes on a glibc ≥ 2.33 guest: the proot limitation is named with the modes that work")
    func prootLimitReported() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.U1)
        let result = try world.sandbox.udocker(["run", "--nobanner", "--execmode=P1", name, "true"])
        #expect(result.status == 1, "\(result)")
        #expect(result.err.contains("statx") && result.err.contains("U1"), "\(result)")
    }

    @Test("F modes refuse a static guest and name the modes that work")
    func fakechrootStaticGuest() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.P1)
        let result = try world.sandbox.udocker(["run", "--nobanner", "--execmode=F1", name, "true"])
        #expect(result.status == 1, "\(result)")
        #expect(result.err.contains("P1, P2, R1 or U1"), "\(result)")
    }

    @Test("setup without options prints the mode; --purge takes udocker's changes out")
    func setupShowAndPurge() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.F2)
        #expect(try world.sandbox.udocker(["setup", name]).out == "execmode: F2\nnvidiamode: False\n")
        let purge = try world.sandbox.udocker(["setup", "--purge", name])
        #expect(purge.succeeded, "\(purge)")
        let dir = world.sandbox.udockerDir + "/containers/" + name
        #expect(!Files.exists(dir + "/ld.so.orig") && !Files.exists(dir + "/links.conv"))
        let passwd = try Files.read(dir + "/ROOT/etc/passwd")
        #expect(!passwd.contains("*UDOCKER*"))
        // The absolute link F modes made relative is absolute again.
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/ROOT/lib64/ld-linux-x86-64.so.2"))?.hasPrefix("/") == true)
        // Set up again for the other tests of this mode.
        #expect(try world.sandbox.udocker(["setup", "--execmode=F2", name]).succeeded)
    }

    @Test("setup --execmode=auto picks the fastest mode that works here")
    func autoMode() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.R1)
        let result = try world.sandbox.udocker(["-D", "setup", "--execmode=auto", name])
        #expect(result.succeeded, "\(result)")
        #expect(result.err.contains("auto: U1: works"), "\(result)")
        #expect(try world.sandbox.udocker(["setup", name]).out == "execmode: U1\nnvidiamode: False\n")
        #expect(try world.sandbox.udocker(["setup", "--execmode=R1", name]).succeeded)
    }

    @Test("S1 runs the host's apptainer or singularity")
    func singularity() throws {
        guard ["/usr/bin/apptainer", "/usr/bin/singularity", "/usr/local/bin/apptainer"].contains(where: Files.exists) else {
            print("S1 skipped: neither apptainer nor singularity is installed on this host")
            let world = try EngineWorld.get()
            let result = try world.sandbox.udocker(["run", "--nobanner", "--execmode=S1", try world.container(.U1), "true"])
            #expect(result.status == 1 && result.err.contains("apptainer or singularity executable not found"), "\(result)")
            return
        }
        let world = try EngineWorld.get()
        let result = try world.sandbox.udocker(["run", "--nobanner", "--execmode=S1", try world.container(.U1), "/bin/sh", "-c", "echo s1; exit 3"])
        #expect(result.status == 3 && result.out == "s1\n", "\(result)")
    }

    @Test("crun is chosen where the cgroup layout allows it, runc otherwise")
    func crunWhereItWorks() throws {
        let world = try EngineWorld.get()
        let name = try world.container(.R1)
        let result = try world.sandbox.udocker(["run", "--nobanner", name, "echo", "via-crun"], env: ["UDOCKER_USE_RUNC_EXECUTABLE": "/usr/bin/crun"])
        if CgroupLayout.current() == .hybrid {
            print("crun cannot run on this host's hybrid cgroup layout: checking the fallback to runc")
            #expect(result.err.contains("using") && result.out == "via-crun\n", "\(result)")
        } else {
            #expect(result.out == "via-crun\n", "\(result)")
        }
    }
}
}
