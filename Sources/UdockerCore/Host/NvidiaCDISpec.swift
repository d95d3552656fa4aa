import Foundation
import Yams

/// `udocker setup --nvidia --cdi`: a CDI spec for `nvidia.com/gpu` written from udocker's own driver discovery
/// (`NvidiaDriver`), for a site without `nvidia-ctk cdi generate`, and so that the two ways (`--gpu` by
/// discovery, `--gpu` by a spec) can be compared on one host. It gives exactly the binds the discovery gives:
/// - spec-wide: the libraries (and their development names) read-only in /.udocker/nvidia/lib, the utilities in
///   /.udocker/nvidia/bin (which a run puts last on PATH), the vendor/ICD files at their own paths, the control
///   device nodes (nvidiactl, nvidia-uvm, …), the nvidia-caps directory, NVIDIA_VISIBLE_DEVICES=void (as
///   nvidia-ctk writes it, so that an NVIDIA runtime hook does not inject the driver a second time) and the
///   toolkit's update-ldcache hook for /.udocker/nvidia/lib (done by udocker itself where no runtime runs it:
///   the directory goes first on LD_LIBRARY_PATH);
/// - device N: /dev/nvidiaN; device `all`: every GPU's node.
/// The spec is of the host at the time of writing: after a driver upgrade its files are gone, and a run says
/// so naming the spec; write it again.
public enum NvidiaCDISpec {
    public static let cdiVersion = "0.6.0"
    /// What nvidia-ctk's spec names for its hooks; runc runs it in R1 where it is installed.
    public static let hookProgram = "/usr/bin/nvidia-ctk"

    /// UDOCKER_DIR/cdi/nvidia.yaml, else ~/.udocker/cdi/nvidia.yaml: in the spec directories searched by default.
    public static func defaultPath(environment: [String: String]) -> String? {
        CDIRegistry.userDirectory(environment: environment).map { $0 + "/nvidia.yaml" }
    }

    public static func make(driver: NvidiaDriver) -> CDISpec {
        let mountOptions = ["ro", "nosuid", "nodev", "bind"]
        var mounts = NvidiaBinding(driver: driver, bindDevices: false).binds.map { bind in
            CDISpec.Mount(hostPath: bind.hostPath, containerPath: bind.containerPath, options: mountOptions)
        }
        var control: [CDISpec.DeviceNode] = []
        var gpus: [(index: Int, node: CDISpec.DeviceNode)] = []
        for device in driver.devices {
            let base = Paths.basename(device.name)
            if base == "nvidia-caps" {
                mounts.append(CDISpec.Mount(hostPath: device.path, containerPath: device.name, options: ["nosuid", "bind"]))
            } else if let index = Int(base.dropFirst("nvidia".count)), base.hasPrefix("nvidia") {
                gpus.append((index, CDISpec.DeviceNode(path: device.name, hostPath: device.path, permissions: "rw")))
            } else {
                control.append(CDISpec.DeviceNode(path: device.name, hostPath: device.path, permissions: "rw"))
            }
        }
        gpus.sort { $0.index < $1.index }
        let hook = CDISpec.Hook(hookName: "createContainer", path: hookProgram,
                                args: ["nvidia-ctk", "hook", "update-ldcache", "--folder", NvidiaBinding.libraryDirectory])
        let common = CDISpec.ContainerEdits(env: ["NVIDIA_VISIBLE_DEVICES=void"], deviceNodes: control.isEmpty ? nil : control,
                                            mounts: mounts, hooks: [hook])
        var devices = gpus.map { gpu in
            CDISpec.Device(name: String(gpu.index), containerEdits: CDISpec.ContainerEdits(deviceNodes: [gpu.node]))
        }
        devices.append(CDISpec.Device(name: "all", containerEdits: CDISpec.ContainerEdits(deviceNodes: gpus.map(\.node))))
        return CDISpec(cdiVersion: cdiVersion, kind: CDIRankDevices.nvidiaKind, devices: devices, containerEdits: common)
    }

    /// The spec as YAML, with a comment saying where it came from.
    public static func yaml(_ spec: CDISpec, driverVersion: String) throws -> String {
        "# CDI spec written by `udocker setup --nvidia --cdi` from its discovery of NVIDIA driver \(driverVersion).\n"
            + "# Write it again after a driver upgrade.\n---\n" + (try YAMLEncoder().encode(spec))
    }

    /// Discovers the driver for programs of `identity`, writes its spec to `path` (temporary name, fsync,
    /// rename: a reader sees the old spec or the new), and returns the spec. The spec directory is made when
    /// missing, readable by all and writable by its owner only, as spec loading requires. Nothing is written
    /// when the host has no driver.
    @discardableResult
    public static func write(to path: String, roots: NvidiaHostRoots, identity: ElfIdentity) throws -> CDISpec {
        let driver = try NvidiaDriver.discover(roots, identity: identity)
        let spec = make(driver: driver)
        let text = try yaml(spec, driverVersion: driver.version)
        // What a run will read must load: checked before it replaces a good spec.
        _ = try YAMLDecoder().decode(CDISpec.self, from: text)
        try FileSystem.makeDirectories(Paths.dirname(path), mode: 0o755)
        try FileSystem.atomicWrite(text, to: path, mode: 0o644)
        Log.info("CDI spec \(path): \(CDIRankDevices.nvidiaKind) devices \(spec.devices.map(\.name).joined(separator: " ")), "
                 + "driver \(driver.version) (\(driver.libraries.count) libraries, \(driver.programs.count) utilities)")
        return spec
    }
}
