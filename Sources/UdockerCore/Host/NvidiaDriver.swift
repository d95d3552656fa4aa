import Foundation

/// The host's NVIDIA driver as a container needs it: the version of the loaded kernel module, the user-space
/// libraries of exactly that version (the ones the host's loader would use), the utilities, the vendor/ICD
/// files and the device nodes. Found the way libnvidia-container and Apptainer's --nv find it: the ldconfig
/// cache first, then LD_LIBRARY_PATH and the usual trees; never a fixed copy.
public struct NvidiaDriver: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// A library's soname, a utility's name, or where a data file or device goes inside the container.
        public var name: String
        /// The file on the host (links resolved for libraries).
        public var path: String
        public init(name: String, path: String) { self.name = name; self.path = path }
    }

    public struct Refusal: Sendable, Equatable {
        public var path: String
        public var reason: String
    }

    public var version: String
    public var libraries: [File]
    public var programs: [File]
    public var dataFiles: [File]
    public var devices: [File]
    /// Candidates that were seen and not taken, with why (for `--debug` and the tests).
    public var refused: [Refusal]

    /// The whole driver for a container whose programs are `identity`.
    public static func discover(_ roots: NvidiaHostRoots, identity: ElfIdentity) throws -> NvidiaDriver {
        let version = try version(roots)
        let cache = LdCache.entries(file: roots.ldCache, ldconfig: roots.ldconfig)
        let (libraries, refused) = libraries(version: version, identity: identity, cache: cache, directories: roots.libraryDirectories)
        guard !libraries.isEmpty else {
            throw UdockerError(.notFound, "NVIDIA driver \(version) is loaded, but none of its libraries was found in \(roots.ldCache), "
                               + "LD_LIBRARY_PATH or \(NvidiaHostRoots.usualLibraryDirectories[0]) and the system library directories"
                               + (refused.isEmpty ? "" : " (refused: " + refused.map { "\($0.path): \($0.reason)" }.joined(separator: "; ") + ")"))
        }
        for refusal in refused { Log.debug("nvidia: not taken \(refusal.path): \(refusal.reason)") }
        return NvidiaDriver(version: version, libraries: libraries,
                            programs: programs(in: roots.programDirectories, identity: identity),
                            dataFiles: dataFiles(in: roots.dataDirectories, prefix: roots.prefix),
                            devices: devices(in: roots.deviceDirectory), refused: refused)
    }

    // MARK: version

    /// The loaded kernel module's version, from its /proc file, else from nvidia-smi.
    public static func version(_ roots: NvidiaHostRoots) throws -> String {
        if let text = try? FileSystem.readString(roots.versionFile), let version = parseVersion(text) { return version }
        if let smi = roots.programDirectories.map({ $0 + "/nvidia-smi" }).first(where: { access($0, X_OK) == 0 }),
           let result = try? Subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"], environment: []),
           result.succeeded, let line = result.output.split(separator: "\n").first,
           isDriverVersion(line.trimmingCharacters(in: .whitespaces)) {
            return line.trimmingCharacters(in: .whitespaces)
        }
        let problem = FileSystem.exists(roots.versionFile) ? "gives no version" : "is missing"
        throw UdockerError(.notFound, "no NVIDIA driver on this host: \(roots.versionFile) \(problem)")
    }

    /// `NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05  Thu Sep 11 …` (or `… Open Kernel Module for
    /// x86_64  580.95.05  Release Build …`): the first word of the NVRM line that is a driver version.
    public static func parseVersion(_ text: String) -> String? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("NVRM version:") }) else { return nil }
        return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init).first(where: isDriverVersion)
    }

    /// 580.95.05, 470.57.02, 550.54: a driver major has three digits (a library's 1 or 1.1.13 is not one).
    static func isDriverVersion(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return (2...3).contains(parts.count) && parts[0].count >= 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    // MARK: libraries

    /// Whether a library (soname or file name) belongs to the driver. By prefix, so that libraries a newer driver
    /// adds (libnvidia-nvvm, libnvidia-gpucomp, …) are taken without a list to update.
    public static func isDriverLibrary(_ name: String) -> Bool {
        guard name.contains(".so"), !name.hasPrefix("libnvidia-container") else { return false }
        let prefixes = ["libcuda.so", "libcudadebugger.so", "libnvidia-", "libnvcuvid.so", "libnvoptix.so"]
        // The GL/EGL/GLES vendor libraries of glvnd: libGLX_nvidia, libEGL_nvidia, libGLESv2_nvidia, …
        return prefixes.contains(where: name.hasPrefix) || name.contains("_nvidia.so")
    }

    /// Driver libraries whose file names carry their own version rather than the driver's.
    static let ownVersionLibraries = ["libnvidia-egl-wayland.so", "libnvidia-egl-gbm.so", "libnvidia-egl-xcb.so",
                                      "libnvidia-egl-xlib.so", "libnvidia-api.so"]

    /// For each driver soname, the first candidate (cache entries, then `directories` in order) that is a file
    /// of the container's class and machine and of this driver version. Everything else is refused.
    public static func libraries(version: String, identity: ElfIdentity, cache: [LdCache.Entry],
                                 directories: [String]) -> (chosen: [File], refused: [Refusal]) {
        var candidates = cache.filter { isDriverLibrary($0.soname) }.map { File(name: $0.soname, path: $0.path) }
        for directory in directories {
            var seen = Set<String>()
            for name in ((try? FileSystem.list(directory)) ?? []).sorted() where isDriverLibrary(name) {
                let path = directory + "/" + name
                let real = LibraryClosure.realPath(path)
                guard seen.insert(real).inserted else { continue }
                // A 32-bit file has no ElfFile: it is still a candidate (named by its file) so it is refused by name.
                candidates.append(File(name: ElfFile(path: real)?.soname ?? name, path: path))
            }
        }
        var chosen: [File] = [], refused: [Refusal] = []
        var done = Set<String>(), judged = Set<String>()
        for candidate in candidates where !done.contains(candidate.name) {
            let real = LibraryClosure.realPath(candidate.path)
            guard judged.insert(candidate.name + "\u{0}" + real).inserted else { continue }
            if let reason = refusal(real, version: version, identity: identity) {
                refused.append(Refusal(path: real, reason: reason))
            } else {
                chosen.append(File(name: candidate.name, path: real))
                done.insert(candidate.name)
            }
        }
        return (chosen, refused.filter { refusal in !chosen.contains { $0.path == refusal.path } })
    }

    /// Why a library file may not be given to the container, or nil when it may.
    static func refusal(_ path: String, version: String, identity: ElfIdentity) -> String? {
        guard FileSystem.isFile(path) else { return "not a file" }
        guard let found = ElfIdentity(path: path) else { return "not an ELF file" }
        guard found == identity else { return "\(found), the container's programs are \(identity)" }
        let name = Paths.basename(path)
        guard let range = name.range(of: ".so.") else { return "no version in its name" }
        let suffix = String(name[range.upperBound...])
        if suffix == version { return nil }
        if isDriverVersion(suffix) { return "driver \(suffix), the loaded driver is \(version)" }
        if ownVersionLibraries.contains(String(name[..<range.lowerBound]) + ".so") { return nil }
        return "no driver version in its name"
    }

    // MARK: utilities, data files, devices

    public static let programNames = ["nvidia-smi", "nvidia-debugdump", "nvidia-persistenced",
                                      "nvidia-cuda-mps-control", "nvidia-cuda-mps-server"]

    /// The first executable of each name along `directories` that the container can run.
    static func programs(in directories: [String], identity: ElfIdentity) -> [File] {
        programNames.compactMap { name in
            directories.map { $0 + "/" + name }.first { path in
                access(path, X_OK) == 0 && FileSystem.isFile(LibraryClosure.realPath(path)) && ElfIdentity(path: path)?.machine == identity.machine
            }.map { File(name: name, path: LibraryClosure.realPath($0)) }
        }
    }

    /// NVIDIA's vendor files (glvnd/EGL/Vulkan JSON, the OpenCL .icd, OptiX's nvoptix.bin), to be bound at the
    /// same place in the container, where the container's loaders look for them.
    static func dataFiles(in directories: [String], prefix: String) -> [File] {
        directories.flatMap { directory in
            ((try? FileSystem.list(directory)) ?? []).sorted().filter { name in
                name.lowercased().contains("nvidia") && (name.hasSuffix(".json") || name.hasSuffix(".icd")) || name == "nvoptix.bin"
            }.map { File(name: String((directory + "/" + $0).dropFirst(prefix.count)), path: directory + "/" + $0) }
                .filter { FileSystem.isFile(LibraryClosure.realPath($0.path)) }
        }
    }

    /// /dev/nvidia0…, nvidiactl, nvidia-uvm, nvidia-uvm-tools, nvidia-modeset and the nvidia-caps directory.
    static func devices(in directory: String) -> [File] {
        let fixed: Set<String> = ["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset", "nvidia-caps"]
        return ((try? FileSystem.list(directory)) ?? []).sorted().filter { name in
            fixed.contains(name) || (name.hasPrefix("nvidia") && name.count > 6 && name.dropFirst(6).allSatisfy(\.isNumber))
        }.map { File(name: "/dev/" + $0, path: directory + "/" + $0) }
    }
}
