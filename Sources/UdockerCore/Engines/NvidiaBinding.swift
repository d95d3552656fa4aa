import Foundation

/// How a container gets the host's NVIDIA driver: at every run, the driver discovered on the host now
/// (`NvidiaDriver`) is bound read-only into the container, so it always matches the loaded kernel module and a
/// driver upgrade needs nothing redone. Wanted for one run (`run --nvidia`) or recorded for every run of a
/// container (`setup --nvidia`, udocker 1.3's command and its marker file, so containers set up by udocker 1.3
/// get the current driver too; the libraries udocker 1.3 copied are left where they are).
///
/// The libraries go into one directory of udocker's own, /.udocker/nvidia/lib, put first on LD_LIBRARY_PATH:
/// a directory no image ships (binding over /usr/local/nvidia/lib64 or a system directory could hide the
/// image's files), searched before the container's own (so a stale copy in the image loses), the same in every
/// mode. The utilities go into /.udocker/nvidia/bin at the end of PATH; vendor/ICD files and device nodes at
/// their own paths. Engines carry these binds as they carry -v volumes (U1 and R modes mount them read-only,
/// P modes bind them in proot, F modes link them from ROOT), so no mode needs a copy.
public struct NvidiaBinding: Sendable, Equatable {
    public static let directory = RuncEngine.prootDir + "/nvidia"
    public static let libraryDirectory = directory + "/lib"
    public static let programDirectory = directory + "/bin"
    /// Libraries also asked for by their development name (frameworks dlopen libcuda.so and libnvidia-ml.so).
    static let developmentNames = ["libcuda.so.1": "libcuda.so", "libnvidia-ml.so.1": "libnvidia-ml.so"]

    public var binds: [RunOptions.Volume]

    /// `bindDevices`: false where the container's /dev already is the host's (a sysdir bind), true otherwise.
    public init(driver: NvidiaDriver, bindDevices: Bool) {
        func bind(_ host: String, _ container: String) -> RunOptions.Volume {
            RunOptions.Volume(hostPath: host, containerPath: container, readOnly: true)
        }
        var binds: [RunOptions.Volume] = []
        for library in driver.libraries {
            binds.append(bind(library.path, Self.libraryDirectory + "/" + library.name))
            if let name = Self.developmentNames[library.name] { binds.append(bind(library.path, Self.libraryDirectory + "/" + name)) }
        }
        binds += driver.programs.map { bind($0.path, Self.programDirectory + "/" + $0.name) }
        binds += driver.dataFiles.map { bind($0.path, $0.name) }
        if bindDevices { binds += driver.devices.map { RunOptions.Volume(hostPath: $0.path, containerPath: $0.name) } }
        self.binds = binds
    }

    /// The library directory first on LD_LIBRARY_PATH, the utilities last on PATH, and the GPUs the job was
    /// given (the host's CUDA_VISIBLE_DEVICES, which SLURM and the launcher set) kept.
    public func apply(to environment: inout EnvironmentList, hostEnvironment: [String: String]) {
        if let devices = hostEnvironment["CUDA_VISIBLE_DEVICES"] { environment.set("CUDA_VISIBLE_DEVICES", devices) }
        let libraries = environment.value("LD_LIBRARY_PATH").flatMap { $0.isEmpty ? nil : $0 }
        environment.set("LD_LIBRARY_PATH", Self.libraryDirectory + (libraries.map { ":" + $0 } ?? ""))
        if !binds.contains(where: { $0.containerPath.hasPrefix(Self.programDirectory + "/") }) { return }
        let path = environment.value("PATH").flatMap { $0.isEmpty ? nil : $0 }
        environment.set("PATH", (path.map { $0 + ":" } ?? "") + Self.programDirectory)
    }

    /// Whether runs of the container in `containerDir` get the driver (`setup --nvidia` was done).
    public static func isRecorded(containerDir: String) -> Bool {
        FileSystem.exists(containerDir + "/" + ContainerFile.nvidia.rawValue)
    }

    /// `setup --nvidia`: checks that this host has a driver a run could bind (else throws and changes nothing),
    /// then records the request.
    public static func record(containerDir: String, root: String, roots: NvidiaHostRoots) throws {
        let driver = try NvidiaDriver.discover(roots, identity: containerIdentity(ContainerPaths(root: root)))
        try FileSystem.atomicWrite(driver.version + "\n", to: containerDir + "/" + ContainerFile.nvidia.rawValue)
        Log.info("NVIDIA driver \(driver.version): \(driver.libraries.count) libraries, \(driver.programs.count) utilities; "
                 + "bound at every run under \(directory)")
    }

    /// The class and machine of the container's programs (its shell, else any of a few common programs), else
    /// this host's own.
    public static func containerIdentity(_ paths: ContainerPaths) -> ElfIdentity {
        for program in ["/bin/sh", "/usr/bin/env", "/bin/busybox", "/usr/bin/bash"] {
            if let host = paths.hostPath(program), let identity = ElfIdentity(path: host) { return identity }
        }
        return ElfIdentity(path: "/proc/self/exe") ?? ElfIdentity(elfClass: 2, byteOrder: 1, machine: 62)
    }
}
