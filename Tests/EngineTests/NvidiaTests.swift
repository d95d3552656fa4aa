import Foundation
import Testing
import TestSupport
import UdockerCore

/// `--nvidia` in every mode against a fake driver tree (UDOCKER_NVIDIA_ROOT): where the guest can run dynamic
/// programs, a program in the container dlopens libcuda.so.1 by its soname through the bound directory and calls
/// it, and nvidia-smi runs from PATH; in the busybox guests the bound files are there.
extension EngineSuites {
@Suite struct NvidiaTests {
    /// The fake driver and a directory holding the dlopen program, both readable by the test user.
    final class Tree: Sendable {
        let driver: String
        let programs: String
        static let shared = OnceValue<Tree>()

        init(world: EngineWorld) throws {
            driver = try world.sandbox.makeDirectory("nvidia-host")
            programs = try world.sandbox.makeDirectory("nvidia-programs")
            try FakeNvidiaDriver.complete(at: driver)
            try FakeNvidiaDriver.buildDlopenProgram(at: programs + "/dlcuda")
            try shell(["chown", "-R", "\(world.user.uid):\(world.user.gid)", driver, programs])
        }
    }

    static func tree() throws -> Tree { try Tree.shared.get { try Tree(world: EngineWorld.get()) } }

    func run(_ mode: ExecMode, _ script: String, driver: String) throws -> CommandResult {
        let world = try EngineWorld.get()
        let name = try world.container(mode)
        return try world.sandbox.udocker(["run", "--nobanner", "--nvidia", "-v", try Self.tree().programs + ":/nvtest", name,
                                          "/bin/sh", "-c", script], env: ["UDOCKER_NVIDIA_ROOT": driver])
    }

    @Test("run --nvidia: the stub libcuda is found by its soname and called", arguments: EngineWorld.tableModes)
    func dlopenThroughTheBoundDirectory(mode: ExecMode) throws {
        let tree = try Self.tree()
        let dynamic = !EngineWorld.busyboxModes.contains(mode)
        let script = dynamic
            ? "/nvtest/dlcuda && nvidia-smi"
            : "test -s \(NvidiaBinding.libraryDirectory)/libcuda.so.1 && test -x \(NvidiaBinding.programDirectory)/nvidia-smi && echo bound"
        let result = try run(mode, script + "; echo \"$LD_LIBRARY_PATH\"", driver: tree.driver)
        #expect(result.status == 0, "\(result)")
        let expected = dynamic ? ["cuDriverGetVersion 12080", "nvidia-smi stub \(FakeNvidiaDriver.version)"] : ["bound"]
        #expect(result.lines.dropLast() == ArraySlice(expected), "\(result)")
        // The bound directory comes first (F modes' loader reads it as a host path, under ROOT).
        let first = result.lines.last?.split(separator: ":").first.map(String.init) ?? ""
        #expect(mode.family == .fakechroot ? first.hasSuffix("/ROOT" + NvidiaBinding.libraryDirectory) : first == NvidiaBinding.libraryDirectory,
                "\(result)")
    }

    @Test("R modes get the device nodes on their own /dev", arguments: [ExecMode.R1, .R2, .R3])
    func devicesInRuncModes(mode: ExecMode) throws {
        let result = try run(mode, "ls /dev/nvidia0 /dev/nvidiactl /dev/nvidia-uvm && test -d /dev/nvidia-caps", driver: try Self.tree().driver)
        #expect(result.status == 0, "\(result)")
    }

    @Test("setup --nvidia records the request: every later run gets the driver; no driver leaves the container as it was")
    func setupRecords() throws {
        let world = try EngineWorld.get()
        let tree = try Self.tree()
        let repository = Repository(config: try Config.load(environment: world.sandbox.environment))
        _ = try ContainerStore(repository: repository).create(imageName: "busybox:static", configJSON: nil, name: "nvsetup") { root in
            try EngineWorld.populateBusybox(root)
        }
        try shell(["chown", "-R", "\(world.user.uid):\(world.user.gid)", world.sandbox.udockerDir])
        let empty = try world.sandbox.makeDirectory("no-driver")

        let before = try world.sandbox.snapshot()
        let refused = try world.sandbox.udocker(["setup", "--nvidia", "nvsetup"], env: ["UDOCKER_NVIDIA_ROOT": empty])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.errLines == ["Error: no NVIDIA driver on this host: \(empty)/proc/driver/nvidia/version is missing"], "\(refused)")
        #expect(try world.sandbox.snapshot() == before)

        let setup = try world.sandbox.udocker(["setup", "--nvidia", "nvsetup"], env: ["UDOCKER_NVIDIA_ROOT": tree.driver])
        #expect(setup.status == 0, "\(setup)")
        #expect(try world.sandbox.udocker(["setup", "nvsetup"]).out == "execmode: P1\nnvidiamode: True\n")
        let listed = try world.sandbox.udocker(["run", "--nobanner", "nvsetup", "/bin/sh", "-c", "ls \(NvidiaBinding.libraryDirectory)"],
                                               env: ["UDOCKER_NVIDIA_ROOT": tree.driver])
        #expect(listed.status == 0, "\(listed)")
        #expect(listed.lines.contains("libcuda.so.1") && listed.lines.contains("libnvidia-ml.so.1"), "\(listed)")
        // The recorded request fails a run on a host that has lost its driver, rather than running without it.
        let lost = try world.sandbox.udocker(["run", "--nobanner", "nvsetup", "true"], env: ["UDOCKER_NVIDIA_ROOT": empty])
        #expect(lost.status == 1 && lost.err.contains("no NVIDIA driver on this host"), "\(lost)")
    }
}
}
