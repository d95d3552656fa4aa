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

    /// libfakechroot: UDOCKER_FAKECHROOT_SO, else the one built for the newest glibc not newer than the
    /// container's (`glibcLevel`, its highest GLIBC_2.N) among the repository's lib/ (libfakechroot.so and the
    /// bundle's libfakechroot-Debian-11-x86_64.so, …) and the host's fakechroot package. A libfakechroot needs its
    /// guest's libc to define every symbol version it uses; the newest that fits wraps the calls that libc makes.
    public func fakechrootLibrary(glibcLevel: Int?) -> String? {
        if let chosen = config["fakechroot_so"] { return FileSystem.exists(chosen) ? chosen : nil }
        let builds = libDir.map { dir in
            ((try? FileSystem.list(dir)) ?? []).filter { $0.hasPrefix("libfakechroot-") && $0.hasSuffix(".so") }.sorted().map { dir + "/" + $0 }
        } ?? []
        let candidates = ((libDir.map { [$0 + "/libfakechroot.so"] } ?? []) + [
            "/usr/lib/x86_64-linux-gnu/fakechroot/libfakechroot.so", "/usr/lib/aarch64-linux-gnu/fakechroot/libfakechroot.so",
            "/usr/lib/powerpc64le-linux-gnu/fakechroot/libfakechroot.so", "/usr/lib64/fakechroot/libfakechroot.so",
            "/usr/lib/fakechroot/libfakechroot.so",
        ] + builds).filter(FileSystem.isFile)
        guard let glibcLevel, candidates.count > 1 else { return candidates.first }
        let fitting = candidates.map { ($0, GlibcLevel.highest(in: $0) ?? 0) }.filter { $0.1 <= glibcLevel }
        // max(by:) keeps the first of equals: a plain libfakechroot.so before the bundle's builds.
        return fitting.max { $0.1 < $1.1 }?.0 ?? candidates.first
    }

    /// The first libfakechroot found, whatever the guest (for callers that do not know it).
    public var fakechrootLibrary: String? { fakechrootLibrary(glibcLevel: nil) }

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

        /// As `ProgramFacts` keeps them: "5.1.0 kill-on-exit=1 port=0" ("-" for no version).
        var line: String {
            (version.map { $0.map(String.init).joined(separator: ".") } ?? "-") + " kill-on-exit=\(killOnExit ? 1 : 0) port=\(ports ? 1 : 0)"
        }

        init?(line: String) {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[1].hasPrefix("kill-on-exit="), fields[2].hasPrefix("port=") else { return nil }
            let numbers = fields[0].split(separator: ".").compactMap { Int($0) }
            version = fields[0] == "-" ? nil : numbers
            killOnExit = fields[1] == "kill-on-exit=1"
            ports = fields[2] == "port=1"
        }
    }

    /// Where answers learnt by running host programs are kept (see `ProgramFacts`).
    public var programFacts: ProgramFacts { ProgramFacts(file: Repository(config: config).programFactsPath) }

    /// What `proot` can do: learnt from its --help once per proot binary, then remembered.
    public func prootFeatures(_ proot: String) -> ProotFeatures {
        let line = programFacts.fact(about: proot) {
            guard let help = try? Subprocess.run([proot, "--help"], environment: []).output, !help.isEmpty else { return nil }
            return ProotFeatures(help: help).line
        }
        return line.flatMap(ProotFeatures.init(line:)) ?? ProotFeatures(help: "")
    }
}
