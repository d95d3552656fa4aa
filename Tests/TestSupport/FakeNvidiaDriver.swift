import Foundation

/// A host's NVIDIA driver laid out under a directory as under / (point UDOCKER_NVIDIA_ROOT or NvidiaHostRoots at
/// it): the kernel module's /proc version file, stub libraries compiled here with gcc under their real sonames
/// and versioned file names, a utility, vendor files and device nodes (plain files: no device can be made
/// unprivileged). Each stub libcuda's cuDriverGetVersion returns the value it was built with, so a test can
/// tell which copy a program loaded.
public struct FakeNvidiaDriver: Sendable {
    public static let version = "580.95.05"
    public static let staleVersion = "470.57.02"

    public let root: String
    private let work: String

    /// An empty tree (no driver) at `root`.
    public init(at root: String) throws {
        self.root = root
        work = root + "/.build"
        try Files.makeDirectory(work)
    }

    /// A whole driver: the version file, libraries in `libraryDirectory` (with a 32-bit libcuda in `lib32`
    /// when given), nvidia-smi, vendor files and devices; `cudaValue` is what its libcuda returns.
    @discardableResult
    public static func complete(at root: String, libraryDirectory: String = "/usr/local/nvidia/lib64",
                                lib32: String? = "/usr/local/nvidia/lib", cudaValue: Int32 = 12080) throws -> FakeNvidiaDriver {
        let driver = try FakeNvidiaDriver(at: root)
        try driver.writeVersionFile(version)
        try driver.library("libcuda.so.1", file: "libcuda.so.\(version)", in: libraryDirectory, cudaValue: cudaValue)
        try driver.library("libnvidia-ml.so.1", file: "libnvidia-ml.so.\(version)", in: libraryDirectory)
        try driver.library("libnvidia-ptxjitcompiler.so.1", file: "libnvidia-ptxjitcompiler.so.\(version)", in: libraryDirectory)
        try driver.library("libGLX_nvidia.so.0", file: "libGLX_nvidia.so.\(version)", in: libraryDirectory)
        try driver.library("libnvidia-egl-wayland.so.1", file: "libnvidia-egl-wayland.so.1.1.13", in: libraryDirectory)
        try driver.library("libnvidia-container.so.1", file: "libnvidia-container.so.1.17.0", in: libraryDirectory)
        if let lib32 { try driver.library("libcuda.so.1", file: "libcuda.so.\(version)", in: lib32, thirtyTwoBit: true) }
        try driver.program("nvidia-smi", in: "/usr/bin")
        try Self.write("{\"ICD\": {\"library_path\": \"libGLX_nvidia.so.0\"}}\n", to: root + "/usr/share/vulkan/icd.d/nvidia_icd.json")
        try Self.write("{\"ICD\": {\"library_path\": \"libvulkan_intel.so\"}}\n", to: root + "/usr/share/vulkan/icd.d/intel_icd.json")
        try Self.write("libnvidia-opencl.so.1\n", to: root + "/etc/OpenCL/vendors/nvidia.icd")
        for device in ["nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-foo"] { try Self.write("", to: root + "/dev/" + device, mode: 0o666) }
        try Files.makeDirectory(root + "/dev/nvidia-caps")
        return driver
    }

    /// /proc/driver/nvidia/version as the proprietary kernel module writes it.
    public func writeVersionFile(_ version: String) throws {
        try Self.write("NVRM version: NVIDIA UNIX x86_64 Kernel Module  \(version)  Thu Sep 11 20:34:14 UTC 2025\n"
                        + "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n", to: root + "/proc/driver/nvidia/version")
    }

    /// A stub shared library `file` with DT_SONAME `soname` in `directory` (a path under the root), and the
    /// soname link to it, as the driver's installer and ldconfig leave them. A 32-bit one is the 64-bit stub
    /// with its ELF class byte changed (gcc -m32 needs multilib).
    public func library(_ soname: String, file: String, in directory: String, cudaValue: Int32 = 0,
                        thirtyTwoBit: Bool = false) throws {
        let source = work + "/\(soname)-\(cudaValue).c"
        try Self.write("int cuDriverGetVersion(int *v) { *v = \(cudaValue); return 0; }\n", to: source)
        let target = root + directory + "/" + file
        try Files.makeDirectory(root + directory)
        try run(["gcc", "-shared", "-fPIC", "-Wl,-soname," + soname, "-o", target, source])
        if thirtyTwoBit {
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: target)))
            bytes[4] = 1
            try Data(bytes).write(to: URL(fileURLWithPath: target))
        }
        if soname != file {
            unlink(root + directory + "/" + soname)
            guard symlink(file, root + directory + "/" + soname) == 0 else { throw TestSupportError("cannot link \(soname)") }
        }
    }

    /// A dynamic program printing "<name> stub <version>" (the container's loader and libc run it).
    public func program(_ name: String, in directory: String) throws {
        let source = work + "/\(name).c"
        try Self.write("#include <stdio.h>\nint main(void) { puts(\"\(name) stub \(Self.version)\"); return 0; }\n", to: source)
        try Files.makeDirectory(root + directory)
        try run(["gcc", "-o", root + directory + "/" + name, source])
    }

    /// <root>/etc/ld.so.cache made by ldconfig from `directories` (paths under the root), in `format`
    /// (new, old or compat); the cache holds host paths, as a real one does.
    public func writeLdCache(_ directories: [String], format: String = "new") throws {
        let conf = work + "/ld.so.conf"
        try Self.write(directories.map { root + $0 }.joined(separator: "\n") + "\n", to: conf)
        try Files.makeDirectory(root + "/etc")
        try run(["ldconfig", "-X", "-c", format, "-C", root + "/etc/ld.so.cache", "-f", conf])
    }

    /// A program that dlopens libcuda.so.1 by its soname and prints what its cuDriverGetVersion returns.
    public static func buildDlopenProgram(at path: String) throws {
        let source = path + ".c"
        try Self.write("""
            #include <dlfcn.h>
            #include <stdio.h>
            int main(void) {
                void *handle = dlopen("libcuda.so.1", RTLD_NOW);
                if (!handle) { printf("dlopen failed: %s\\n", dlerror()); return 1; }
                int (*get)(int *) = (int (*)(int *))dlsym(handle, "cuDriverGetVersion");
                int value = 0;
                if (!get || get(&value) != 0) { puts("no cuDriverGetVersion"); return 1; }
                printf("cuDriverGetVersion %d\\n", value);
                return 0;
            }

            """, to: source)
        let result = try Command.run(["gcc", "-o", path, source])
        guard result.succeeded else { throw TestSupportError("gcc failed: \(result)") }
    }

    /// Files.write, making the parent directories first.
    private static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        try Files.makeDirectory((path as NSString).deletingLastPathComponent)
        try Files.write(text, to: path, mode: mode)
    }

    private func run(_ argv: [String]) throws {
        let result = try Command.run(argv)
        guard result.succeeded else { throw TestSupportError("\(argv.joined(separator: " ")) failed: \(result)") }
    }
}
