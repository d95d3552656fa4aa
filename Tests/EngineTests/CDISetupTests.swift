import Foundation
import Testing
import TestSupport
import UdockerCore

/// `udocker setup --nvidia --cdi` over a fake driver tree (UDOCKER_NVIDIA_ROOT): the spec it writes loads as
/// every spec does, drives a U1 run by `--device=nvidia.com/gpu=0` (the stub libcuda loads by its soname, the
/// utility runs from PATH, the device node is there), and `--nvidia` through it binds what the discovery binds.
extension EngineSuites {
@Suite struct CDISetupTests {
    @Test func theSpecFromOurDiscoveryDrivesARunAsTheDiscoveryDoes() throws {
        let world = try EngineWorld.get()
        let driver = try world.sandbox.makeDirectory("cdisetup-driver")
        let programs = try world.sandbox.makeDirectory("cdisetup-programs")
        let specs = try world.sandbox.makeDirectory("cdisetup-specs")
        try FakeNvidiaDriver.complete(at: driver)
        try FakeNvidiaDriver.buildDlopenProgram(at: programs + "/dlcuda")
        try shell(["chown", "-R", "\(world.user.uid):\(world.user.gid)", driver, programs, specs])
        let spec = specs + "/cdi/nvidia.yaml"
        let nvidiaRoot = ["UDOCKER_NVIDIA_ROOT": driver]

        // No driver: one line, and no spec written.
        let empty = try world.sandbox.makeDirectory("cdisetup-nodriver")
        let refused = try world.sandbox.udocker(["setup", "--nvidia", "--cdi", "--cdi-spec=" + spec], env: ["UDOCKER_NVIDIA_ROOT": empty])
        #expect(refused.status == 1 && refused.errLines == ["Error: no NVIDIA driver on this host: \(empty)/proc/driver/nvidia/version is missing"],
                "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: spec))

        let setup = try world.sandbox.udocker(["setup", "--nvidia", "--cdi", "--cdi-spec=" + spec], env: nvidiaRoot)
        #expect(setup.status == 0, "\(setup)")
        // The user's spec (the runs below load it as the user: loading checks it is the invoker's or root's).
        let text = try Files.read(spec)
        for line in ["cdiVersion: \(NvidiaCDISpec.cdiVersion)", "kind: nvidia.com/gpu",
                     "hostPath: \(driver)/usr/local/nvidia/lib64/libcuda.so.\(FakeNvidiaDriver.version)",
                     "containerPath: \(NvidiaBinding.libraryDirectory)/libcuda.so.1", "path: /dev/nvidia0"] {
            #expect(text.contains(line), "\(line) not in \(text)")
        }
        #expect(Files.list(specs + "/cdi") == ["nvidia.yaml"], "a temporary file was left")

        let container = try world.container(.U1)
        let script = "/nvtest/dlcuda && nvidia-smi && test -e /dev/nvidia0 && echo node; ls \(NvidiaBinding.libraryDirectory) "
            + "\(NvidiaBinding.programDirectory) /etc/OpenCL/vendors; echo \"${LD_LIBRARY_PATH%%:*} ${PATH##*:} $NVIDIA_VISIBLE_DEVICES\""
        func run(_ flags: [String], env: [String: String]) throws -> CommandResult {
            try world.sandbox.udocker(["run", "--nobanner"] + flags + ["-v", programs + ":/nvtest", container, "/bin/sh", "-c", script], env: env)
        }
        let device = try run(["--cdi-spec-dir=" + specs + "/cdi", "--device=nvidia.com/gpu=0"], env: [:])
        #expect(device.status == 0, "\(device)")
        #expect(Array(device.lines.prefix(3)) == ["cuDriverGetVersion 12080", "nvidia-smi stub \(FakeNvidiaDriver.version)", "node"], "\(device)")
        #expect(device.lines.last == "\(NvidiaBinding.libraryDirectory) \(NvidiaBinding.programDirectory) void", "\(device)")

        // --nvidia by discovery (no spec anywhere) and through the spec: the same files in the same places.
        let discovered = try run(["--nvidia"], env: nvidiaRoot.merging(["UDOCKER_CDI_SPEC_DIRS": empty]) { $1 })
        let bySpec = try run(["--nvidia", "--cdi-spec-dir=" + specs + "/cdi"], env: [:])
        #expect(discovered.status == 0 && bySpec.status == 0, "\(discovered)\n\(bySpec)")
        let listing = { (result: CommandResult) in Array(result.lines.dropFirst(2).filter { $0 != "node" }.dropLast()) }
        #expect(listing(discovered).contains("libcuda.so.1") && listing(discovered) == listing(bySpec), "\(discovered)\n\(bySpec)")
        #expect(Array(discovered.lines.prefix(2)) == Array(bySpec.lines.prefix(2)), "\(discovered)\n\(bySpec)")
    }
}
}
