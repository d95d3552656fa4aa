import Foundation

/// The host's MPI as a container needs it to replace its own: the MPI library, everything the host's loader
/// would load with it (its closure, glibc's own libraries left out: the container's libc stays), the plugin and
/// data directories it finds at run time (Open MPI's MCA components, etc/ and help texts; PMIx's components;
/// UCX's modules; libfabric's and libibverbs' providers, /etc/libibverbs.d), SLURM's PMI libraries, and the
/// interconnect's device nodes.
///
/// Found, first that has one: MPI_HOME, MPI_ROOT, the prefix of the `mpirun`/`mpiexec` on PATH, LD_LIBRARY_PATH,
/// the ldconfig cache. Where one directory holds both families (a Debian host with Open MPI and MPICH), the
/// family of that `mpirun` decides (Debian's alternatives point it at orterun or at MPICH's hydra).
public struct HostMPI: Sendable, Equatable {
    /// A directory the MPI stack reads at run time, bound whole.
    public struct Directory: Sendable, Equatable {
        public enum Role: String, Sendable {
            case openMPIComponents, openMPIData, openMPIConfiguration, pmixComponents, pmixData, ucxModules,
                 fabricProviders, verbsProviders, verbsConfiguration
        }
        public var role: Role
        public var path: String
    }

    public var library: MPILibrary
    /// How it was found, for `info` and `--dry-run`: "MPI_HOME=/opt/mpi", "mpirun on PATH (/usr/bin/orterun)", ….
    public var foundBy: String
    /// The MPI library, its companions (C++/Fortran bindings of the family), SLURM's PMI libraries and the
    /// closure of all of them and of every component below, as the host's loader resolves them.
    public var libraries: [LibraryResolver.Library]
    public var directories: [Directory]
    /// The programs the MPI starts by itself, by name: Open MPI's `orted` (4.x) or `prte`/`prted` (5.x), which
    /// a singleton (a program started without mpirun or srun) forks from its install prefix's bin/.
    public var helpers: [String: String] = [:]
    /// /dev/infiniband, /dev/hfi1_0, /dev/cxi0 … that exist.
    public var devices: [String]
    /// The highest GLIBC_2.N anything bound needs, and the first file that needs it.
    public var glibcLevel: Int?
    public var glibcNeededBy: String?
    /// Names the closure needed and the host did not have (components that cannot load here either).
    public var missing: [String]
    /// The MPI library, its companions and what they load, each after what it needs: what a mode whose
    /// programs search their own DT_RPATH first (F3/F4 patch it into ROOT) preloads.
    public var loadOrder: [String]

    /// glibc's own libraries: never bound, the container's C library serves the host's libraries.
    public static func isGlibc(_ name: String) -> Bool {
        glibcLibraries.contains(name) || name.hasPrefix("ld-linux") || name.hasPrefix("ld64.so")
    }
    static let glibcLibraries: Set<String> = ["libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
                                              "libresolv.so.2", "libutil.so.1", "libanl.so.1", "libnsl.so.1",
                                              "libBrokenLocale.so.1", "libmvec.so.1", "libthread_db.so.1", "libc_malloc_debug.so.0"]

    /// Bindings of each family that a program may link beside the MPI library itself.
    static let companions: [MPILibrary.Family: [String]] = [
        .openMPI: ["libmpi_cxx.so.40", "libmpi_mpifh.so.40", "libmpi_usempif08.so.40", "libmpi_usempi_ignore_tkr.so.40"],
        .mpich: ["libmpicxx.so.12", "libmpifort.so.12", "libmpichcxx.so.12", "libmpichfort.so.12"],
    ]
    /// What an MPI built for SLURM's PMI-1/PMI-2 loads.
    static let slurmPMI = ["libpmi.so.0", "libpmi2.so.0"]

    /// The host's MPI, or why there is none.
    public static func discover(environment: [String: String], resolver: LibraryResolver, deviceDirectory: String = "/dev",
                                verbsConfiguration: String = "/etc/libibverbs.d") throws -> HostMPI {
        guard let (library, directory, foundBy) = locate(environment: environment, resolver: resolver) else {
            throw UdockerError(.notFound, "no host MPI: no libmpi.so.40, libmpi.so.12 or libmpich.so.12 in MPI_HOME, MPI_ROOT, "
                               + "the prefix of mpirun/mpiexec on PATH, LD_LIBRARY_PATH or the ldconfig cache")
        }
        var objects = [directory + "/" + library.soname]
        objects += (companions[library.family] ?? []).map { directory + "/" + $0 }.filter { resolver.file($0) != nil }
        objects += slurmPMI.compactMap { resolver.resolve($0, neededBy: nil, at: nil)?.path }
        let helpers = openMPIHelpers(library: library)

        // Components find more libraries, whose own components come with them (UCX's modules need libibverbs,
        // whose providers are a directory of their own): repeat until nothing new appears.
        var directories = openMPIDirectories(library: library, directory: directory)
        var closure = LibraryResolver.Closure(libraries: [], missing: [])
        var pluginCount = -1
        while true {
            let plugins = directories.filter { [.openMPIComponents, .pmixComponents, .ucxModules, .fabricProviders, .verbsProviders].contains($0.role) }
                .flatMap { sharedObjects(in: $0.path) }
            if plugins.count == pluginCount { break }
            pluginCount = plugins.count
            closure = resolver.closure(of: objects + helpers.values.sorted() + plugins, skip: isGlibc)
            for found in stackDirectories(closure.libraries, verbsConfiguration: verbsConfiguration) where !directories.contains(found) {
                directories.append(found)
            }
        }
        var libraries = objects.compactMap { path in resolver.file(path).map { LibraryResolver.Library(name: Paths.basename(path), path: path, file: $0) } }
        libraries += closure.libraries.filter { found in !libraries.contains { $0.name == found.name } }
        let bound = libraries.map(\.file) + helpers.values.sorted() + directories.flatMap { sharedObjects(in: $0.path) }
        let levels = bound.compactMap { file in ElfFile(path: file).flatMap { GlibcLevel.highest(ofVersions: $0.versionsNeeded) }.map { (file, $0) } }
        let glibc = levels.max { $0.1 < $1.1 }
        return HostMPI(library: library, foundBy: foundBy, libraries: libraries, directories: directories, helpers: helpers,
                       devices: devices(in: deviceDirectory), glibcLevel: glibc?.1, glibcNeededBy: glibc.map { Paths.basename($0.0) }, missing: closure.missing,
                       loadOrder: resolver.loadOrder(of: objects, skip: isGlibc).map(\.name))
    }

    // MARK: the MPI library

    /// The MPI library, the directory it was found in, and how.
    static func locate(environment: [String: String], resolver: LibraryResolver) -> (MPILibrary, String, String)? {
        let launcher = launcherOnPath(environment["PATH"])
        var places: [(directories: [String], foundBy: String, preferred: MPILibrary.Family?)] = []
        for variable in ["MPI_HOME", "MPI_ROOT"] {
            guard let home = environment[variable].map(Paths.trimTrailingSlashes), home.hasPrefix("/") else { continue }
            places.append((libraryDirectories(prefix: home, resolver), "\(variable)=\(home)",
                           family(ofLauncher: home + "/bin/mpirun") ?? launcher?.family))
        }
        if let launcher {
            places.append((libraryDirectories(prefix: Paths.dirname(Paths.dirname(launcher.file)), resolver),
                           "mpirun on PATH (\(launcher.file))", launcher.family))
        }
        places.append((resolver.libraryPath, "LD_LIBRARY_PATH", launcher?.family))
        for place in places {
            for directory in place.directories {
                let found = MPILibrary.sonames.keys.sorted().compactMap { name in
                    resolver.file(directory + "/" + name).flatMap { MPILibrary(file: $0, soname: name) }
                }.filter { ElfIdentity(path: $0.file) == resolver.identity }
                if let chosen = found.first(where: { $0.family == place.preferred }) ?? found.first {
                    return (chosen, directory, place.foundBy)
                }
            }
        }
        let cached = resolver.cache.filter { MPILibrary.sonames[$0.soname] != nil }.compactMap { entry -> (MPILibrary, String)? in
            guard let file = resolver.file(entry.path), ElfIdentity(path: file) == resolver.identity,
                  let library = MPILibrary(file: file, soname: entry.soname) else { return nil }
            return (library, Paths.dirname(entry.path))
        }
        guard let chosen = cached.first(where: { $0.0.family == launcher?.family }) ?? cached.first else { return nil }
        return (chosen.0, chosen.1, "the ldconfig cache")
    }

    /// Where an MPI installed under `prefix` keeps its libraries.
    static func libraryDirectories(prefix: String, _ resolver: LibraryResolver) -> [String] {
        let multiarch = resolver.defaultDirectories.filter { $0.hasPrefix("/usr/lib/") }.map { String($0.dropFirst(4)) }
        return ([prefix + "/lib64", prefix + "/lib"] + multiarch.map { prefix + $0 }).filter(FileSystem.isDirectoryFollowingLinks)
    }

    /// The first `mpirun` or `mpiexec` on PATH, resolved, and the family its name (or a link's on the way) tells.
    static func launcherOnPath(_ path: String?) -> (file: String, family: MPILibrary.Family?)? {
        for directory in LibraryResolver.searchList(path) {
            for name in ["mpirun", "mpiexec"] where access(directory + "/" + name, X_OK) == 0 {
                let program = directory + "/" + name
                return (LibraryClosure.realPath(program), family(ofLauncher: program))
            }
        }
        return nil
    }

    /// Open MPI's launcher is orterun (4.x) or prterun (5.x); MPICH's (and Intel MPI's) is hydra: the names along
    /// the chain of links (Debian's alternatives: mpirun → /etc/alternatives/mpirun → mpirun.mpich → mpiexec.hydra).
    static func family(ofLauncher program: String) -> MPILibrary.Family? {
        var path = program
        for _ in 0..<8 {
            let name = Paths.basename(path).lowercased()
            if ["orterun", "prterun", "openmpi", "ompi"].contains(where: name.contains) { return .openMPI }
            if ["hydra", "mpich", "intel"].contains(where: name.contains) { return .mpich }
            guard let target = FileSystem.readLink(path) else { return nil }
            path = target.hasPrefix("/") ? target : Paths.dirname(path) + "/" + target
        }
        return nil
    }

    // MARK: directories read at run time

    /// The install prefix of Open MPI's library: PREFIX/lib, PREFIX/lib64 or PREFIX/lib/MULTIARCH.
    static func openMPIPrefix(_ library: MPILibrary) -> String {
        var prefix = Paths.dirname(library.file)
        for suffix in ["/lib64", "/lib"] where prefix.hasSuffix(suffix) { prefix = String(prefix.dropLast(suffix.count)) }
        if let range = prefix.range(of: "/lib/", options: .backwards), !prefix[range.upperBound...].contains("/") {
            prefix = String(prefix[..<range.lowerBound])   // PREFIX/lib/x86_64-linux-gnu
        }
        return prefix
    }

    /// Open MPI's component directory (`pkglibdir`: upstream LIBDIR/openmpi, Debian's LIBDIR/openmpi/lib/openmpi3),
    /// help texts (`pkgdatadir`, PREFIX/share/openmpi) and configuration (PREFIX/etc, Debian's /etc/openmpi).
    static func openMPIDirectories(library: MPILibrary, directory: String) -> [Directory] {
        guard library.family == .openMPI else { return [] }
        let libdir = Paths.dirname(library.file)
        let prefix = openMPIPrefix(library)
        let nested = ((try? FileSystem.list(libdir + "/openmpi/lib")) ?? []).sorted().filter { $0.hasPrefix("openmpi") }
        let components = ([libdir + "/openmpi"] + nested.map { libdir + "/openmpi/lib/" + $0 })
            .first { sharedObjects(in: $0).contains { Paths.basename($0).hasPrefix("mca_") } }
        let data = [prefix + "/share/openmpi"].first { FileSystem.isDirectoryFollowingLinks($0) }
        let configuration = [prefix + "/etc", prefix == "/usr" ? "/etc/openmpi" : nil].compactMap { $0 }
            .first { FileSystem.exists($0 + "/openmpi-mca-params.conf") }
        return [components.map { Directory(role: .openMPIComponents, path: $0) },
                data.map { Directory(role: .openMPIData, path: $0) },
                configuration.map { Directory(role: .openMPIConfiguration, path: $0) }].compactMap { $0 }
    }

    /// Open MPI's own helper programs in PREFIX/bin, links resolved: what a singleton forks (`orted` for 4.x,
    /// `prte` and the daemon `prted` for 5.x). MPICH's singletons need none.
    static func openMPIHelpers(library: MPILibrary) -> [String: String] {
        guard library.family == .openMPI else { return [:] }
        var helpers: [String: String] = [:]
        for name in ["orted", "prte", "prted"] {
            let program = LibraryClosure.realPath(openMPIPrefix(library) + "/bin/" + name)
            if FileSystem.isFile(program), access(program, X_OK) == 0 { helpers[name] = program }
        }
        return helpers
    }

    /// The directories of the stack's libraries found in the closure: PMIx's components and help texts, UCX's
    /// modules, libfabric's and libibverbs' providers and libibverbs' configuration.
    static func stackDirectories(_ libraries: [LibraryResolver.Library], verbsConfiguration: String) -> [Directory] {
        var found: [Directory] = []
        func add(_ role: Directory.Role, _ path: String) {
            if FileSystem.isDirectoryFollowingLinks(path) { found.append(Directory(role: role, path: LibraryClosure.realPath(path))) }
        }
        for library in libraries {
            let directory = Paths.dirname(library.file)
            switch library.name {
            case "libpmix.so.2":
                add(.pmixComponents, directory + "/pmix")
                add(.pmixData, Paths.dirname(directory) + "/share/pmix")
            case "libucs.so.0": add(.ucxModules, directory + "/ucx")
            case "libfabric.so.1": add(.fabricProviders, directory + "/libfabric")
            case "libibverbs.so.1":
                add(.verbsProviders, directory + "/libibverbs")
                add(.verbsConfiguration, verbsConfiguration)
            default: break
            }
        }
        return found
    }

    /// The shared objects (*.so) of a component directory, links resolved.
    static func sharedObjects(in directory: String) -> [String] {
        ((try? FileSystem.list(directory)) ?? []).sorted().filter { $0.hasSuffix(".so") }
            .map { LibraryClosure.realPath(directory + "/" + $0) }.filter(FileSystem.isFile)
    }

    /// The interconnects' device nodes: InfiniBand (/dev/infiniband), Omni-Path (/dev/hfi1_N), Slingshot (/dev/cxiN).
    static func devices(in directory: String) -> [String] {
        ((try? FileSystem.list(directory)) ?? []).sorted()
            .filter { $0 == "infiniband" || $0.hasPrefix("hfi1") || $0.hasPrefix("cxi") }.map { directory + "/" + $0 }
    }
}
