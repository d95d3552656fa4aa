import Foundation
import TestSupport
import Testing
@testable import UdockerCore

/// Driver discovery on trees built here (gcc stubs under their real sonames), and the binds each mode gets.
@Suite final class NvidiaDriverTests {
    let dir: String
    static let x86_64 = ElfIdentity(elfClass: 2, byteOrder: 1, machine: 62)
    static let version = FakeNvidiaDriver.version

    init() throws { dir = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udnvidia-") }
    deinit { try? FileSystem.removeTree(dir) }

    func roots(environment: [String: String] = [:]) -> NvidiaHostRoots {
        .host(environment: environment.merging(["UDOCKER_NVIDIA_ROOT": dir]) { a, _ in a })
    }

    @Test func readsTheVersionOfEitherKernelModule() {
        #expect(NvidiaDriver.parseVersion("NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05  Thu Sep 11 20:34:14 UTC 2025\n") == "580.95.05")
        #expect(NvidiaDriver.parseVersion("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54  Release Build  (dvs-builder@U16)\n") == "550.54")
        #expect(NvidiaDriver.parseVersion("GCC version: gcc 12.2.0\n") == nil)
    }

    @Test func aHostWithoutADriverIsToldSoInOneLine() throws {
        _ = try FakeNvidiaDriver(at: dir)
        let error = #expect(throws: UdockerError.self) { try NvidiaDriver.discover(self.roots(), identity: Self.x86_64) }
        #expect(error?.message == "no NVIDIA driver on this host: \(dir)/proc/driver/nvidia/version is missing")
    }

    @Test(arguments: ["new", "old", "compat"])
    func readsTheLdconfigCacheAsLdconfigDoes(format: String) throws {
        let driver = try FakeNvidiaDriver(at: dir)
        try driver.library("libcuda.so.1", file: "libcuda.so.\(Self.version)", in: "/opt/a")
        try driver.library("libnvidia-ml.so.1", file: "libnvidia-ml.so.\(Self.version)", in: "/opt/b")
        try driver.writeLdCache(["/opt/a", "/opt/b"], format: format)
        let entries = try #require(LdCache.read(dir + "/etc/ld.so.cache"))
        let listed = try Command.run(["ldconfig", "-p", "-C", dir + "/etc/ld.so.cache"])
        #expect(listed.succeeded)
        #expect(entries == LdCache.parse(ldconfigOutput: listed.out))
        #expect(entries.contains(.init(soname: "libcuda.so.1", path: dir + "/opt/a/libcuda.so.1")))
        #expect(entries.contains(.init(soname: "libnvidia-ml.so.1", path: dir + "/opt/b/libnvidia-ml.so.1")))
        #expect(LdCache.parse(Array("not a cache".utf8)) == nil)
    }

    @Test func nvidiaContainerLayoutTakesTheDriverAndRefusesThe32BitCopy() throws {
        try FakeNvidiaDriver.complete(at: dir)
        // As CUDA images set it: the 32-bit directory first.
        let path = dir + "/usr/local/nvidia/lib:" + dir + "/usr/local/nvidia/lib64"
        let driver = try NvidiaDriver.discover(roots(environment: ["LD_LIBRARY_PATH": path]), identity: Self.x86_64)
        let lib64 = dir + "/usr/local/nvidia/lib64/"
        #expect(driver.version == Self.version)
        #expect(Set(driver.libraries.map(\.name)) == ["libcuda.so.1", "libnvidia-ml.so.1", "libnvidia-ptxjitcompiler.so.1",
                                                      "libGLX_nvidia.so.0", "libnvidia-egl-wayland.so.1"])
        #expect(driver.libraries.first { $0.name == "libcuda.so.1" }?.path == lib64 + "libcuda.so.\(Self.version)")
        let refused32 = try #require(driver.refused.first { $0.path == dir + "/usr/local/nvidia/lib/libcuda.so.\(Self.version)" })
        #expect(refused32.reason.hasPrefix("32-bit machine 62"))
        #expect(driver.programs == [.init(name: "nvidia-smi", path: dir + "/usr/bin/nvidia-smi")])
        #expect(driver.dataFiles.map(\.name) == ["/usr/share/vulkan/icd.d/nvidia_icd.json", "/etc/OpenCL/vendors/nvidia.icd"])
        #expect(driver.devices.map(\.name) == ["/dev/nvidia-caps", "/dev/nvidia-uvm", "/dev/nvidia0", "/dev/nvidiactl"])
    }

    @Test func theRealGPUMachinesLayoutIsFound() throws {
        // As on the GPU machine of the first real run: no cache entry for the driver, libraries in
        // /usr/local/nvidia/lib64 and /lib, the utilities in /usr/local/nvidia/bin.
        let driver = try FakeNvidiaDriver(at: dir)
        try driver.writeVersionFile(Self.version)
        try driver.library("libcuda.so.1", file: "libcuda.so.\(Self.version)", in: "/usr/local/nvidia/lib64", cudaValue: 12080)
        try driver.library("libnvidia-ml.so.1", file: "libnvidia-ml.so.\(Self.version)", in: "/usr/local/nvidia/lib64")
        try driver.library("libnvidia-ptxjitcompiler.so.1", file: "libnvidia-ptxjitcompiler.so.\(Self.version)", in: "/lib")
        try driver.library("libnvidia-nvvm.so.4", file: "libnvidia-nvvm.so.\(Self.version)", in: "/lib")
        try driver.program("nvidia-smi", in: "/usr/local/nvidia/bin")
        let found = try NvidiaDriver.discover(roots(), identity: Self.x86_64)
        #expect(found.version == Self.version)
        #expect(found.libraries.sorted { $0.name < $1.name } == [
            .init(name: "libcuda.so.1", path: dir + "/usr/local/nvidia/lib64/libcuda.so.\(Self.version)"),
            .init(name: "libnvidia-ml.so.1", path: dir + "/usr/local/nvidia/lib64/libnvidia-ml.so.\(Self.version)"),
            .init(name: "libnvidia-nvvm.so.4", path: dir + "/lib/libnvidia-nvvm.so.\(Self.version)"),
            .init(name: "libnvidia-ptxjitcompiler.so.1", path: dir + "/lib/libnvidia-ptxjitcompiler.so.\(Self.version)"),
        ])
        #expect(found.programs == [.init(name: "nvidia-smi", path: dir + "/usr/local/nvidia/bin/nvidia-smi")])
    }

    @Test func aStaleLibraryOfAnotherDriverIsRefusedEvenWhereLdconfigPointsToIt() throws {
        try FakeNvidiaDriver.complete(at: dir, libraryDirectory: "/usr/lib/x86_64-linux-gnu", lib32: nil)
        let driver = try FakeNvidiaDriver(at: dir)
        // Left over from the previous driver, and the copy the cache resolves libcuda.so.1 to.
        try driver.library("libcuda.so.1", file: "libcuda.so.\(FakeNvidiaDriver.staleVersion)", in: "/opt/old", cudaValue: 11040)
        try driver.writeLdCache(["/opt/old", "/usr/lib/x86_64-linux-gnu"])
        let found = try NvidiaDriver.discover(roots(), identity: Self.x86_64)
        #expect(found.libraries.first { $0.name == "libcuda.so.1" }?.path == dir + "/usr/lib/x86_64-linux-gnu/libcuda.so.\(Self.version)")
        #expect(found.refused.contains(.init(path: dir + "/opt/old/libcuda.so.\(FakeNvidiaDriver.staleVersion)",
                                             reason: "driver \(FakeNvidiaDriver.staleVersion), the loaded driver is \(Self.version)")))
        #expect(!found.libraries.contains { $0.path.contains("libnvidia-container") })
    }

    @Test func theCopyLdconfigResolvesWinsOverOthersOfTheSameVersion() throws {
        try FakeNvidiaDriver.complete(at: dir, lib32: nil)  // /usr/local/nvidia/lib64, searched before /opt/site
        let driver = try FakeNvidiaDriver(at: dir)
        try driver.library("libcuda.so.1", file: "libcuda.so.\(Self.version)", in: "/opt/site", cudaValue: 7)
        try driver.writeLdCache(["/opt/site"])
        let found = try NvidiaDriver.discover(roots(), identity: Self.x86_64)
        #expect(found.libraries.filter { $0.name == "libcuda.so.1" }.map(\.path) == [dir + "/opt/site/libcuda.so.\(Self.version)"])
        // The other libraries come from the trees.
        #expect(found.libraries.first { $0.name == "libnvidia-ml.so.1" }?.path.hasPrefix(dir + "/usr/local/nvidia/lib64/") == true)
    }

    @Test func ldLibraryPathIsSearchedBeforeTheUsualTrees() throws {
        try FakeNvidiaDriver.complete(at: dir, lib32: nil)
        let driver = try FakeNvidiaDriver(at: dir)
        try driver.library("libcuda.so.1", file: "libcuda.so.\(Self.version)", in: "/cluster/driver", cudaValue: 9)
        let found = try NvidiaDriver.discover(roots(environment: ["LD_LIBRARY_PATH": dir + "/cluster/driver"]), identity: Self.x86_64)
        #expect(found.libraries.first { $0.name == "libcuda.so.1" }?.path == dir + "/cluster/driver/libcuda.so.\(Self.version)")
    }

    @Test func aDriverWhoseLibrariesAreAllOfAnotherVersionIsAnError() throws {
        let driver = try FakeNvidiaDriver(at: dir)
        try driver.writeVersionFile(Self.version)
        try driver.library("libcuda.so.1", file: "libcuda.so.\(FakeNvidiaDriver.staleVersion)", in: "/usr/lib64")
        let error = #expect(throws: UdockerError.self) { try NvidiaDriver.discover(self.roots(), identity: Self.x86_64) }
        #expect(error?.message.contains("none of its libraries was found") == true)
        #expect(error?.message.contains("driver \(FakeNvidiaDriver.staleVersion)") == true)
    }

    @Test func theCDISpecFromTheDiscoveryHasADevicePerGPUAndAll() throws {
        try FakeNvidiaDriver.complete(at: dir)
        try Files.write("", to: dir + "/dev/nvidia1")
        let driver = try NvidiaDriver.discover(roots(), identity: Self.x86_64)
        let spec = NvidiaCDISpec.make(driver: driver)
        #expect(spec.kind == "nvidia.com/gpu" && spec.devices.map(\.name) == ["0", "1", "all"])
        #expect(spec.devices.map { $0.containerEdits.deviceNodes?.map(\.path) ?? [] } == [["/dev/nvidia0"], ["/dev/nvidia1"], ["/dev/nvidia0", "/dev/nvidia1"]])
        #expect(spec.devices[1].containerEdits.deviceNodes?.first?.hostPath == dir + "/dev/nvidia1")
        let common = try #require(spec.containerEdits)
        #expect(common.deviceNodes?.map(\.path) == ["/dev/nvidia-uvm", "/dev/nvidiactl"])
        // The same files at the same places as the discovery binds them, read-only, and the caps directory.
        let binds = NvidiaBinding(driver: driver, bindDevices: false).binds
        #expect(common.mounts?.filter(\.readOnly).map { RunOptions.Volume(hostPath: $0.hostPath, containerPath: $0.containerPath, readOnly: true) } == binds)
        #expect(common.mounts?.contains { $0.containerPath == "/dev/nvidia-caps" && !$0.readOnly } == true)
        #expect(common.hooks?.map { $0.args ?? [] } == [["nvidia-ctk", "hook", "update-ldcache", "--folder", NvidiaBinding.libraryDirectory]])
        // What it writes is a spec udocker reads.
        let text = try NvidiaCDISpec.yaml(spec, driverVersion: driver.version)
        try Files.makeDirectory(dir + "/cdi")
        try Files.write(text, to: dir + "/cdi/nvidia.yaml")
        #expect(try CDISpecLoading.load(dir + "/cdi/nvidia.yaml") == spec)
    }

    // MARK: the binds each mode gets

    func nvidiaBinding(bindDevices: Bool) throws -> NvidiaBinding {
        try FakeNvidiaDriver.complete(at: dir)
        return NvidiaBinding(driver: try NvidiaDriver.discover(roots(), identity: Self.x86_64), bindDevices: bindDevices)
    }

    @Test func theDriverGoesIntoOneDirectoryFirstOnTheLibraryPath() throws {
        let binding = try nvidiaBinding(bindDevices: false)
        let lib = NvidiaBinding.libraryDirectory
        let allReadOnly = binding.binds.allSatisfy { $0.readOnly }
        #expect(allReadOnly)
        #expect(binding.binds.contains(.init(hostPath: dir + "/usr/local/nvidia/lib64/libcuda.so.\(Self.version)", containerPath: lib + "/libcuda.so.1", readOnly: true)))
        #expect(binding.binds.contains(.init(hostPath: dir + "/usr/local/nvidia/lib64/libcuda.so.\(Self.version)", containerPath: lib + "/libcuda.so", readOnly: true)))
        #expect(binding.binds.contains(.init(hostPath: dir + "/usr/bin/nvidia-smi", containerPath: NvidiaBinding.programDirectory + "/nvidia-smi", readOnly: true)))
        #expect(binding.binds.contains(.init(hostPath: dir + "/etc/OpenCL/vendors/nvidia.icd", containerPath: "/etc/OpenCL/vendors/nvidia.icd", readOnly: true)))
        #expect(!binding.binds.contains { $0.containerPath.hasPrefix("/dev/") })
        var env = EnvironmentList(["PATH=/usr/bin:/bin", "LD_LIBRARY_PATH=/usr/local/cuda/lib64"])
        binding.apply(to: &env, hostEnvironment: ["CUDA_VISIBLE_DEVICES": "2,3", "SLURM_STEP_GPUS": "2,3"])
        #expect(env.value("CUDA_VISIBLE_DEVICES") == "2,3")
        #expect(env.value("SLURM_STEP_GPUS") == nil)
        #expect(env.value("LD_LIBRARY_PATH") == lib + ":/usr/local/cuda/lib64")
        #expect(env.value("PATH") == "/usr/bin:/bin:" + NvidiaBinding.programDirectory)
    }

    @Test func fModesLinksFollowTheHostDriverButNeverReplaceTheContainersFiles() throws {
        let link = dir + "/ROOT/.udocker/nvidia/lib/libcuda.so.1"
        try Executor.prepare(ExecPlan(executable: "/bin/true", arguments: [], environment: [],
                                      preparation: [.symlink(target: "/old/libcuda.so.470.57.02", path: link, replaceLink: true)]))
        try Executor.prepare(ExecPlan(executable: "/bin/true", arguments: [], environment: [],
                                      preparation: [.symlink(target: "/new/libcuda.so.580.95.05", path: link, replaceLink: true)]))
        #expect(FileSystem.readLink(link) == "/new/libcuda.so.580.95.05")
        try FileSystem.atomicWrite("image's own\n", to: dir + "/ROOT/data")
        #expect(throws: UdockerError.self) {
            try Executor.prepare(ExecPlan(executable: "/bin/true", arguments: [], environment: [],
                                          preparation: [.symlink(target: "/host", path: self.dir + "/ROOT/data", replaceLink: true)]))
        }
    }

    static func run(_ mode: ExecMode, binds: [RunOptions.Volume]) -> ContainerRun {
        var run = EngineBuilderTests.run(mode, binds: binds)
        var env = EnvironmentList(run.environment)
        env.set("LD_LIBRARY_PATH", NvidiaBinding.libraryDirectory)
        run.environment = env.entries
        return run
    }

    @Test func eachModeCarriesTheBindsItsOwnWay() throws {
        let binds = try nvidiaBinding(bindDevices: true).binds
        let cuda = try #require(binds.first { $0.containerPath == NvidiaBinding.libraryDirectory + "/libcuda.so.1" })
        let device = try #require(binds.first { $0.containerPath == "/dev/nvidia0" })
        #expect(!device.readOnly)

        let u1 = try UsernsEngine().plan(Self.run(.U1, binds: binds))
        #expect(u1.isolation?.binds.contains(.init(source: cuda.hostPath, target: cuda.containerPath, readOnly: true)) == true)

        let runc = try RuncEngine(runtime: "/usr/bin/runc", kind: .runc, stateDir: "/s", runID: "1").plan(Self.run(.R1, binds: binds))
        let config = runc.preparation.compactMap { step -> String? in
            if case .writeFile(_, let contents, _) = step { return contents } else { return nil }
        }.joined()
        #expect(config.contains("\"destination\" : \"\(cuda.containerPath)\""))
        #expect(config.contains("\"destination\" : \"/dev/nvidia0\""))

        let proot = try ProotEngine(proot: "/usr/bin/proot").plan(Self.run(.P1, binds: binds))
        #expect(proot.arguments.contains("\(cuda.hostPath):\(cuda.containerPath)"))

        let state = FakechrootState(loader: "/lib64/ld-linux-x86-64.so.2", libraryDirectories: ["/usr/lib"])
        let f1 = try FakechrootEngine(library: "/l/libfakechroot.so", state: state).plan(Self.run(.F1, binds: binds))
        #expect(f1.preparation.contains(.symlink(target: cuda.hostPath, path: "/c/ROOT" + cuda.containerPath, replaceLink: true)))
        #expect(EnvironmentList(f1.environment).value("LD_LIBRARY_PATH") == "/c/ROOT\(NvidiaBinding.libraryDirectory):/c/ROOT/usr/lib")

        let s1 = try SingularityEngine(executable: "/usr/bin/apptainer").plan(Self.run(.S1, binds: binds))
        #expect(s1.arguments.contains("\(cuda.hostPath):\(cuda.containerPath):ro"))
    }
}

/// The GPUs each local rank sees, and where the GPUs are.
struct NvidiaRankDevicesTests {
    @Test func explicitGPUsPerRankSplitTheHostsGPUs() throws {
        #expect(try NvidiaRankDevices.visibleDevices(localRank: 0, gpusPerRank: 2, gpuCount: 4, environment: [:]) == "0,1")
        #expect(try NvidiaRankDevices.visibleDevices(localRank: 1, gpusPerRank: 2, gpuCount: 4, environment: [:]) == "2,3")
        #expect(throws: UdockerError.self) { try NvidiaRankDevices.visibleDevices(localRank: 2, gpusPerRank: 2, gpuCount: 4, environment: [:]) }
    }

    @Test func theStepsOwnListIsSplitInItsOwnNumbering() throws {
        let env = ["CUDA_VISIBLE_DEVICES": "4,5,6,7", "SLURM_STEP_GPUS": "4,5,6,7", "SLURM_GPUS_PER_TASK": "a100:1"]
        #expect(try NvidiaRankDevices.visibleDevices(localRank: 3, gpusPerRank: nil, gpuCount: 8, environment: env) == "7")
        #expect(try NvidiaRankDevices.visibleDevices(localRank: 1, gpusPerRank: 1, gpuCount: 8, environment: ["SLURM_STEP_GPUS": "2,3"]) == "3")
    }

    @Test func aShareSlurmAlreadyBoundIsKeptAndNoShareLeavesTheRankAlone() throws {
        #expect(try NvidiaRankDevices.visibleDevices(localRank: 5, gpusPerRank: nil, gpuCount: 8,
                                                     environment: ["CUDA_VISIBLE_DEVICES": "5", "SLURM_GPUS_PER_TASK": "1"]) == "5")
        #expect(try NvidiaRankDevices.visibleDevices(localRank: 1, gpusPerRank: nil, gpuCount: 8, environment: ["CUDA_VISIBLE_DEVICES": "0,1"]) == nil)
    }

    static func gpuRegistry(_ names: [String]) -> CDIRegistry {
        let spec = CDISpec(cdiVersion: "0.6.0", kind: CDIRankDevices.nvidiaKind,
                           devices: names.map { CDISpec.Device(name: $0, containerEdits: .init()) })
        return CDIRegistry(sources: [.init(spec: spec, file: "/etc/cdi/nvidia.yaml")],
                           providers: Dictionary(uniqueKeysWithValues: names.map { (CDIDeviceName(kind: CDIRankDevices.nvidiaKind, name: $0), 0) }))
    }

    @Test func cdiGPUsAreTheHostsAndTheSharedNamespaceBindsTheStepsInOneOrder() throws {
        let registry = Self.gpuRegistry(["0", "1", "2", "3", "4", "5", "all"])
        // Under SLURM's device cgroup: the step sees its GPUs as 0,1; they are the host's 4,5.
        let cgroup = ["CUDA_VISIBLE_DEVICES": "0,1", "SLURM_STEP_GPUS": "4,5"]
        #expect(CDIRankDevices.specNames(["1"], environment: cgroup) == ["5"])
        #expect(CDIRankDevices.specNames(["1"], environment: ["CUDA_VISIBLE_DEVICES": "4,5", "SLURM_STEP_GPUS": "4,5"]) == ["1"])
        var shared = [RunOptions(), RunOptions()]
        for rank in 0..<2 {
            try CDIRankDevices.assign(&shared[rank], registry: registry, visible: String(rank), pool: ["0", "1"],
                                      sharedNamespace: true, ownDevDirectory: false, environment: cgroup)
        }
        #expect(shared.map { $0.cdiDevices.map(\.description) } == [["nvidia.com/gpu=4"], ["nvidia.com/gpu=5"]])
        #expect(shared[0].cdiStepDevices == shared[1].cdiStepDevices && shared[0].cdiStepDevices.map(\.name) == ["4", "5"])
        // An R mode's /dev has only the rank's GPU: CUDA numbers it 0.
        var runc = RunOptions()
        runc.environment = ["CUDA_VISIBLE_DEVICES=3"]
        try CDIRankDevices.assign(&runc, registry: registry, visible: "3", pool: ["0", "1", "2", "3"],
                                  sharedNamespace: false, ownDevDirectory: true, environment: [:])
        #expect(runc.cdiDevices.map(\.name) == ["3"] && runc.environment == ["CUDA_VISIBLE_DEVICES=0"])
        let missing = #expect(throws: UdockerError.self) {
            var options = RunOptions()
            try CDIRankDevices.assign(&options, registry: Self.gpuRegistry(["0"]), visible: "1", pool: ["0", "1"],
                                      sharedNamespace: false, ownDevDirectory: false, environment: [:])
        }
        #expect(missing?.message == "GPU 1 has no CDI device nvidia.com/gpu=1 (the specs define 0)")
    }

    @Test func gpuLocalityOnAHostWithoutNvidiaGPUsIsEmpty() throws {
        let gpus = try HostTopology.nvidiaGPUs()
        let nvidiaOnPCI = ((try? FileSystem.list("/sys/bus/pci/devices")) ?? []).filter {
            (try? FileSystem.readString("/sys/bus/pci/devices/\($0)/vendor"))?.hasPrefix("0x10de") == true
                && (try? FileSystem.readString("/sys/bus/pci/devices/\($0)/class"))?.hasPrefix("0x03") == true
        }
        #expect(gpus.map(\.pciBusID) == nvidiaOnPCI.sorted())
        let topology = try HostTopology.discover()
        for gpu in gpus { #expect(Set(gpu.processingUnits).isSubset(of: Set(topology.processingUnits))) }
    }
}
