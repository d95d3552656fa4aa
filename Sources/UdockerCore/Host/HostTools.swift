import Foundation

/// The external programs and libraries the engines drive, found once per run from the configuration
/// (UDOCKER_USE_*_EXECUTABLE, UDOCKER_FAKECHROOT_SO), the repository's bin/ and lib/, and the host.
public struct HostTools: Sendable {
    public var locator: ToolLocator
    public var config: Config
    public var libDir: String?

    public init(locator: ToolLocator, config: Config, libDir: String? = nil) {
        self.locator = locator; self.config = config; self.libDir = libDir
    }

    public var proot: String? { locator.find(["proot"], override: config["use_proot_executable"]) }
    public var patchelf: String? { locator.find(["patchelf"], override: config["use_patchelf_executable"]) }
    public var singularity: String? { locator.find(["apptainer", "singularity"], override: config["use_singularity_executable"]) }
    public var runc: String? { locator.find(["runc"]) }
    public var crun: String? { locator.find(["crun"]) }
    public var runtimeOverride: String? { config["use_runc_executable"].flatMap { locator.find([], override: $0) ?? "missing:" + $0 } }

    /// libfakechroot: UDOCKER_FAKECHROOT_SO, else the repository's lib/, else the host's fakechroot package.
    public var fakechrootLibrary: String? {
        if let chosen = config["fakechroot_so"] { return FileSystem.exists(chosen) ? chosen : nil }
        let candidates = (libDir.map { [$0 + "/libfakechroot.so"] } ?? []) + [
            "/usr/lib/x86_64-linux-gnu/fakechroot/libfakechroot.so", "/usr/lib/aarch64-linux-gnu/fakechroot/libfakechroot.so",
            "/usr/lib/powerpc64le-linux-gnu/fakechroot/libfakechroot.so", "/usr/lib64/fakechroot/libfakechroot.so",
            "/usr/lib/fakechroot/libfakechroot.so",
        ]
        return candidates.first(where: FileSystem.isFile)
    }

    /// What a proot can do, read from its --help (first line "proot 5.1.0: …", then its options).
    public struct ProotFeatures: Sendable, Equatable {
        public var version: [Int]?
        public var killOnExit: Bool
        public var ports: Bool

        public init(help: String) {
            let first = help.split(separator: "\n").first ?? ""
            version = first.split(separator: " ").dropFirst().first.map { $0.split(separator: ":")[0].split(separator: ".").compactMap { Int($0) } }
            killOnExit = help.contains("--kill-on-exit")
            ports = help.contains("--port")
        }
    }

    public static func prootFeatures(_ proot: String) -> ProotFeatures {
        ProotFeatures(help: (try? Subprocess.run([proot, "--help"], environment: []).output) ?? "")
    }
}
