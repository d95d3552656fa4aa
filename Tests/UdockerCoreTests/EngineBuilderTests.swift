import Foundation
import Testing
@testable import UdockerCore

/// The engines are pure builders: these tables check the argv and environment each mode produces for a run,
/// without running anything.
struct EngineBuilderTests {
    static let host = HostUser(name: "alice", uid: 1000, gid: 1000, home: "/home/alice", shell: "/bin/bash")

    static func run(_ mode: ExecMode, user: ContainerRun.User? = nil, binds: [RunOptions.Volume] = [],
                    command: [String] = ["/bin/echo", "hi"], interpreter: [String]? = nil) -> ContainerRun {
        let exe = ResolvedCommand(containerPath: command[0], hostPath: "/c/ROOT" + command[0], interpreter: interpreter,
                                  interpreterHostPath: interpreter.map { "/c/ROOT" + $0[0] })
        return ContainerRun(id: "0123abcd-0000-0000-0000-000000000000", root: "/c/ROOT", containerDir: "/c", mode: mode,
                            command: command, executable: exe, environment: ["PATH=/usr/bin:/bin", "HOME=/"],
                            workingDirectory: "/work", user: user ?? .init(name: "alice", uid: 1000, gid: 1000, home: "/"),
                            hostUser: host, binds: binds)
    }

    struct ProotCase: Sendable, CustomStringConvertible {
        var mode: ExecMode, uid: UInt32, expectedIdentity: [String], noSeccomp: Bool
        var description: String { "\(mode.rawValue) uid \(uid)" }
    }

    @Test("proot: identity flags, binds, root and cwd", arguments: [
        ProotCase(mode: .P1, uid: 1000, expectedIdentity: ["-i", "1000:1000"], noSeccomp: false),
        ProotCase(mode: .P2, uid: 1000, expectedIdentity: ["-i", "1000:1000"], noSeccomp: true),
        ProotCase(mode: .P1, uid: 0, expectedIdentity: ["-0"], noSeccomp: false),
    ])
    func proot(_ c: ProotCase) throws {
        let user = ContainerRun.User(name: "u", uid: c.uid, gid: c.uid == 0 ? 0 : 1000, home: "/")
        let plan = try ProotEngine(proot: "/usr/bin/proot").plan(Self.run(c.mode, user: user, binds: [.init(hostPath: "/data", containerPath: "/mnt")]))
        #expect(plan.arguments == ["/usr/bin/proot", "-b", "/data:/mnt"] + c.expectedIdentity + ["-r", "/c/ROOT", "-w", "/work", "/bin/echo", "hi"])
        #expect(plan.environment.contains("PROOT_NO_SECCOMP=1") == c.noSeccomp)
    }

    struct FakechrootCase: Sendable, CustomStringConvertible {
        var mode: ExecMode, argv: [String], executable: String, elfLoader: Bool, libraryReal: Bool
        var description: String { mode.rawValue }
    }

    static let loader = "/c/ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"

    @Test("fakechroot: loader invocation (F1/F2) or direct exec (F3/F4), and the variables of each mode", arguments: [
        FakechrootCase(mode: .F1, argv: [loader, "--argv0", "/bin/echo", "/c/ROOT/bin/echo", "hi"], executable: loader, elfLoader: true, libraryReal: false),
        FakechrootCase(mode: .F2, argv: [loader, "--argv0", "/bin/echo", "/c/ROOT/bin/echo", "hi"], executable: loader, elfLoader: true, libraryReal: true),
        FakechrootCase(mode: .F3, argv: ["/bin/echo", "hi"], executable: "/c/ROOT/bin/echo", elfLoader: false, libraryReal: true),
        FakechrootCase(mode: .F4, argv: ["/bin/echo", "hi"], executable: "/c/ROOT/bin/echo", elfLoader: false, libraryReal: true),
    ])
    func fakechroot(_ c: FakechrootCase) throws {
        let state = FakechrootState(loader: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", libraryDirectories: ["/usr/lib/x86_64-linux-gnu", "/usr/lib"])
        let engine = FakechrootEngine(library: "/usr/lib/libfakechroot.so", state: state)
        let plan = try engine.plan(Self.run(c.mode, binds: [.init(hostPath: "/proc", containerPath: "/proc"), .init(hostPath: "/data", containerPath: "/mnt")]))
        let env = EnvironmentList(plan.environment)
        #expect(plan.arguments == c.argv)
        #expect(plan.executable == c.executable)
        #expect(plan.hostWorkingDirectory == "/c/ROOT/work")
        #expect(env.value("LD_PRELOAD") == "/usr/lib/libfakechroot.so")
        #expect(env.value("FAKECHROOT_BASE") == "/c/ROOT")
        #expect(env.value("FAKECHROOT_EXCLUDE_PATH") == "/proc")
        #expect(env.value("LD_LIBRARY_PATH") == "/c/ROOT/usr/lib/x86_64-linux-gnu:/c/ROOT/usr/lib")
        #expect((env.value("FAKECHROOT_ELFLOADER") != nil) == c.elfLoader)
        #expect((env.value("LD_LIBRARY_REAL") != nil) == c.libraryReal)
        #expect(plan.preparation.contains(.volumeLinks(VolumeLinks(root: "/c/ROOT", record: "/c/volume.links",
                                                                   links: [.init(hostPath: "/data", containerPath: "/mnt")]))))
    }

    @Test("fakechroot runs a script through its interpreter, never through the loader's or the host's #!")
    func fakechrootScript() throws {
        let state = FakechrootState(loader: "/lib/ld.so", libraryDirectories: ["/lib"])
        let plan = try FakechrootEngine(library: "/l.so", state: state)
            .plan(Self.run(.F1, command: ["/usr/bin/tool", "x"], interpreter: ["/bin/sh", "-e"]))
        #expect(plan.arguments == ["/c/ROOT/lib/ld.so", "--argv0", "/bin/sh", "/c/ROOT/bin/sh", "-e", "/usr/bin/tool", "x"])
    }

    @Test("fakechroot F1 on a glibc < 2.33 guest: its loader has no --argv0")
    func fakechrootOldLoader() throws {
        let state = FakechrootState(loader: "/lib/ld.so", libraryDirectories: ["/lib"])
        let plan = try FakechrootEngine(library: "/l.so", state: state, loaderTakesArgv0: false)
            .plan(Self.run(.F1, command: ["/usr/bin/tool", "x"], interpreter: nil))
        #expect(plan.arguments == ["/c/ROOT/lib/ld.so", "/c/ROOT/usr/bin/tool", "x"])
    }

    struct RuncCase: Sendable, CustomStringConvertible {
        var mode: ExecMode, argsPrefix: [String], noSeccomp: Bool
        var description: String { mode.rawValue }
    }

    @Test("runc: foreground run of a per-run bundle; R2/R3 start proot through the host's loader", arguments: [
        RuncCase(mode: .R1, argsPrefix: [], noSeccomp: false),
        RuncCase(mode: .R2, argsPrefix: ["/.udocker/lib/ld.so", "--library-path", "/.udocker/lib", "/.udocker/bin/proot", "-0", "-w", "/work"], noSeccomp: false),
        RuncCase(mode: .R3, argsPrefix: ["/.udocker/lib/ld.so", "--library-path", "/.udocker/lib", "/.udocker/bin/proot", "-0", "-w", "/work"], noSeccomp: true),
    ])
    func runc(_ c: RuncCase) throws {
        let closure = LibraryClosure(loader: "/lib/ld.so", libraries: [.init(name: "libtalloc.so.2", path: "/lib/libtalloc.so.2.4")])
        let engine = RuncEngine(runtime: "/usr/sbin/runc", kind: .runc, stateDir: "/tmp/s", proot: "/usr/bin/proot",
                                prootLibraries: closure, runID: "42")
        var run = Self.run(c.mode, user: .init(name: "root", uid: 0, gid: 0, home: "/root"), binds: [.init(hostPath: "/proc", containerPath: "/proc"), .init(hostPath: "/data", containerPath: "/mnt")])
        run.inheritedDescriptors = 2
        let plan = try engine.plan(run)
        let bundle = "/tmp/s/bundles/udocker-0123abcd-42"
        #expect(plan.arguments == ["/usr/sbin/runc", "--log", "/dev/null", "--root", "/tmp/s/state", "run", "--bundle", bundle, "--preserve-fds", "2", "udocker-0123abcd-42"])
        guard case .writeFile(let path, let contents, _)? = plan.preparation.last else { Issue.record("no spec written"); return }
        #expect(path == bundle + "/config.json")
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(contents.utf8)) as? [String: Any])
        let process = try #require(spec["process"] as? [String: Any])
        #expect(process["args"] as? [String] == c.argsPrefix + ["/bin/echo", "hi"])
        #expect(process["terminal"] as? Bool == false)
        #expect(((process["env"] as? [String]) ?? []).contains("PROOT_NO_SECCOMP=1") == c.noSeccomp)
        let linux = try #require(spec["linux"] as? [String: Any])
        let namespaces = (linux["namespaces"] as? [[String: String]])?.compactMap { $0["type"] }
        #expect(namespaces == ["mount", "user"])
        let mounts = (spec["mounts"] as? [[String: Any]])?.compactMap { $0["destination"] as? String } ?? []
        #expect(mounts.contains("/mnt") && mounts.contains("/dev/shm") && mounts.filter { $0 == "/proc" }.count == 1)
        #expect(mounts.contains("/.udocker/lib/libtalloc.so.2") == (c.mode != .R1))
    }

    @Test("U1: the exec path gets the isolation; the command is exec'd by its container path")
    func userns() throws {
        let plan = try UsernsEngine().plan(Self.run(.U1, binds: [.init(hostPath: "/proc", containerPath: "/proc")]))
        #expect(plan.executable == "/bin/echo")
        #expect(plan.arguments == ["/bin/echo", "hi"])
        #expect(plan.isolation == Isolation(root: "/c/ROOT", binds: [.init(source: "/proc", target: "/proc")], workingDirectory: "/work"))
    }

    @Test("S1: apptainer exec with the environment handed over by prefix")
    func singularity() throws {
        let plan = try SingularityEngine(executable: "/usr/bin/apptainer").plan(Self.run(.S1))
        #expect(plan.arguments.prefix(6) == ["/usr/bin/apptainer", "--silent", "exec", "--cleanenv", "--pwd", "/work"])
        #expect(plan.arguments.suffix(3) == ["/c/ROOT", "/bin/echo", "hi"])
        #expect(plan.environment.contains("APPTAINERENV_HOME=/"))
    }

    @Test("mode identities", arguments: ExecMode.allCases)
    func identities(_ mode: ExecMode) {
        let expected: ExecMode.Identities = switch mode {
        case .P1, .P2, .R2, .R3: .any
        case .R1: .rootOnly
        default: .invokerOnly
        }
        #expect(mode.identities == expected)
    }

    @Test("cgroup layouts", arguments: [
        ("1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw", CgroupLayout.unified),
        ("1 0 0:1 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n2 1 0:2 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n3 1 0:3 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw", .hybrid),
        ("1 0 0:1 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n2 1 0:2 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu", .legacy),
    ])
    func cgroups(_ text: String, _ layout: CgroupLayout) {
        #expect(CgroupLayout.parse(mountinfo: text) == layout)
    }

    @Test("accounts: the run user and the invoking user are added once, and taken out by --purge")
    func accounts() {
        let base = "root:x:0:0:root:/root:/bin/sh\n", group = "root:x:0:\n"
        let files = AccountFiles.adding([.init(name: "alice", uid: 1000, gid: 1000, home: "/home/alice")], passwd: base, group: group)
        #expect(files.passwd == base + "alice:x:1000:1000:*UDOCKER*:/home/alice:/bin/sh\n")
        #expect(files.group == group + "alice:x:1000:\n")
        #expect(AccountFiles.adding([.init(name: "alice", uid: 1000, gid: 1000, home: "/")], passwd: files.passwd, group: files.group) == files)
        let cleaned = AccountFiles.removingAdded(passwd: files.passwd, group: files.group)
        #expect(cleaned.passwd == base && cleaned.group == group)
    }

    @Test("accounts: a user already there by uid or by name is not added again; a group added for one user serves the next")
    func accountsAlreadyPresent() {
        let base = "root:x:0:0:root:/root:/bin/sh\n\n::x:\nbob:x:1001:1001::/home/bob:/bin/sh", group = "root:x:0:\nstaff:x:50:"
        let users: [ContainerRun.User] = [.init(name: "bob", uid: 2000, gid: 50, home: "/"), .init(name: "carol", uid: 1001, gid: 50, home: "/"),
                                          .init(name: "dave", uid: 3000, gid: 3000, home: "/d"), .init(name: "erin", uid: 3001, gid: 3000, home: "/e")]
        let files = AccountFiles.adding(users, passwd: base, group: group)
        #expect(files.passwd == base + "\ndave:x:3000:3000:*UDOCKER*:/d:/bin/sh\nerin:x:3001:3000:*UDOCKER*:/e:/bin/sh\n")
        // erin's group 3000 is dave's, added just before.
        #expect(files.group == group + "\ndave:x:3000:\n")
    }

    @Test("environment lists: a key replaces only itself, not a key it is the prefix of; an entry without = is a key")
    func environmentList() {
        var env = EnvironmentList(["PATH=/bin", "PATHX=1", "P=2", "BARE", "A=x=y", "PATH=/usr/bin"])
        #expect(env.entries == ["PATHX=1", "P=2", "BARE", "A=x=y", "PATH=/usr/bin"])
        #expect(env.value("PATH") == "/usr/bin" && env.value("PATHX") == "1" && env.value("P") == "2" && env.value("PAT") == nil)
        #expect(env.value("A") == "x=y" && env.value("BARE") == "" && EnvironmentList.key(of: "A=x=y") == "A")
        env.set("BARE", "now")
        env.setIfAbsent("P", "3")
        env.setIfAbsent("Q", "4")
        env.set("ÉTÉ", "chaud")
        #expect(env.entries == ["PATHX=1", "P=2", "A=x=y", "PATH=/usr/bin", "BARE=now", "Q=4", "ÉTÉ=chaud"])
        #expect(env.value("ÉTÉ") == "chaud" && env.value("ÉT") == nil)
    }

    @Test("the F2 loader patch keeps the length and renames LD_LIBRARY_PATH")
    func loaderPatch() {
        let data = Data("x\0/etc/ld.so.cache\0/lib/x\0LD_LIBRARY_PATH\0".utf8)
        let patched = LoaderPatch.patch(data)
        #expect(patched.count == data.count)
        #expect(String(decoding: patched, as: UTF8.self).contains("LD_LIBRARY_REAL"))
        #expect(!String(decoding: patched, as: UTF8.self).contains("/etc/ld.so"))
    }

    @Test("--cpuset-cpus lists", arguments: [("0-3,8", [0, 1, 2, 3, 8]), ("5", [5])])
    func cpuSet(_ text: String, _ cpus: [Int]) throws {
        #expect(try CPUSet.parse(text) == cpus)
    }
}
