import Foundation

/// Where NVIDIA driver discovery looks. `host` gives the real places; tests (and the UDOCKER_NVIDIA_ROOT knob)
/// point every one of them into a tree of their own.
public struct NvidiaHostRoots: Sendable, Equatable {
    /// The kernel module's version file (/proc/driver/nvidia/version).
    public var versionFile: String
    /// The ldconfig cache (/etc/ld.so.cache).
    public var ldCache: String
    /// `ldconfig`, asked (`-p`) only when the cache file cannot be read; nil never asks.
    public var ldconfig: String?
    /// Searched after the cache, in this order: LD_LIBRARY_PATH, then the usual driver trees.
    public var libraryDirectories: [String]
    /// Where the utilities (nvidia-smi, …) are looked for.
    public var programDirectories: [String]
    /// Where the vendor/ICD files of the graphics and compute loaders live (glvnd, EGL, Vulkan, OpenCL).
    public var dataDirectories: [String]
    /// The device directory (/dev).
    public var deviceDirectory: String
    /// Prepended to every fixed path above: a data file at PREFIX/usr/share/… is bound at /usr/share/… .
    public var prefix: String

    public init(versionFile: String, ldCache: String, ldconfig: String?, libraryDirectories: [String],
                programDirectories: [String], dataDirectories: [String], deviceDirectory: String, prefix: String = "") {
        self.versionFile = versionFile; self.ldCache = ldCache; self.ldconfig = ldconfig
        self.libraryDirectories = libraryDirectories; self.programDirectories = programDirectories
        self.dataDirectories = dataDirectories; self.deviceDirectory = deviceDirectory; self.prefix = prefix
    }

    /// The usual driver trees: NVIDIA's container layout, distribution packages' private directories, then the
    /// system's library directories (multiarch and not).
    public static let usualLibraryDirectories = [
        "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib64/nvidia", "/usr/lib/nvidia",
        "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib/powerpc64le-linux-gnu",
        "/usr/lib64", "/lib64", "/usr/lib", "/lib",
    ]
    public static let usualProgramDirectories = ["/usr/local/nvidia/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"]
    public static let usualDataDirectories = [
        "/usr/share/glvnd/egl_vendor.d", "/etc/glvnd/egl_vendor.d", "/usr/share/egl/egl_external_platform.d",
        "/etc/egl/egl_external_platform.d", "/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d",
        "/usr/share/vulkan/implicit_layer.d", "/etc/vulkan/implicit_layer.d", "/etc/OpenCL/vendors", "/usr/share/nvidia",
    ]

    /// The host's places, all under UDOCKER_NVIDIA_ROOT when it is set (a test and diagnostic knob: a tree laid
    /// out like a host's /). LD_LIBRARY_PATH is taken as it is, PATH only without the knob; /usr/lib/nvidia-NNN
    /// style directories are listed.
    public static func host(environment: [String: String]) -> NvidiaHostRoots {
        let knob = Paths.trimTrailingSlashes(environment["UDOCKER_NVIDIA_ROOT"] ?? "")
        let prefix = knob == "/" ? "" : knob
        func entries(_ variable: String) -> [String] {
            (environment[variable] ?? "").split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        }
        var libraries = usualLibraryDirectories.map { prefix + $0 }
        // Ubuntu's older packages keep each driver in /usr/lib/nvidia-NNN (and /usr/lib32/nvidia-NNN).
        let versioned = ((try? FileSystem.list(prefix + "/usr/lib")) ?? []).filter { $0.hasPrefix("nvidia-") }.sorted()
        libraries.insert(contentsOf: versioned.map { prefix + "/usr/lib/" + $0 }, at: 4)
        return NvidiaHostRoots(
            versionFile: prefix + "/proc/driver/nvidia/version", ldCache: prefix + "/etc/ld.so.cache",
            ldconfig: prefix.isEmpty ? ["/sbin/ldconfig", "/usr/sbin/ldconfig"].first(where: FileSystem.isFile) : nil,
            libraryDirectories: unique(entries("LD_LIBRARY_PATH") + libraries),
            programDirectories: unique((prefix.isEmpty ? entries("PATH") : []) + usualProgramDirectories.map { prefix + $0 }),
            dataDirectories: usualDataDirectories.map { prefix + $0 }, deviceDirectory: prefix + "/dev", prefix: prefix)
    }

    private static func unique(_ paths: [String]) -> [String] {
        var seen = Set<String>()
        return paths.map(Paths.trimTrailingSlashes).filter { seen.insert($0).inserted }
    }
}
