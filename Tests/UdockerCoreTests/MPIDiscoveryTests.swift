import Foundation
import TestSupport
import Testing
@testable import UdockerCore

/// Host and container MPI discovery and the ABI rules, on ELF files and trees built here with gcc: libraries that
/// carry their real sonames, version strings, DT_NEEDED, $ORIGIN search paths and glibc version needs.
@Suite(.enabled(if: MPITrees.gccReason == nil, "\(MPITrees.gccReason ?? "")"))
struct MPIDiscoveryTests {
    @Test func elfFileReadsWhatALibraryNeedsAndTheGlibcVersionsItNeeds() throws {
        let trees = try MPITrees()
        let library = try trees.library("libneeds.so.1", in: trees.base + "/needs", source: "#include <pthread.h>\nvoid *f(void *a) { return a; }\nint g(void) { pthread_t t; return pthread_create(&t, 0, f, 0); }\n")
        let elf = try #require(ElfFile(path: library))
        #expect(elf.soname == "libneeds.so.1" && elf.needed.contains("libc.so.6"), "\(elf)")
        // pthread_create moved into libc in glibc 2.34, with that version.
        #expect(GlibcLevel.highest(ofVersions: elf.versionsNeeded) == 34, "\(elf.versionsNeeded)")
    }

    @Test func findsAnOpenMPIUnderMPIHomeWithItsClosureComponentsAndVersion() throws {
        let trees = try MPITrees()
        let prefix = try trees.openMPI(version: "5.0.3", in: "ompi5")
        let host = try HostMPI.discover(environment: ["MPI_HOME": prefix, "PATH": ""], resolver: trees.resolver)
        #expect(host.library.family == .openMPI && host.library.version == "5.0.3" && host.foundBy == "MPI_HOME=\(prefix)")
        let names = host.libraries.map(\.name)
        #expect(names.contains("libmpi.so.40") && names.contains("libopen-pal.so.80") && names.contains("libfabric-fake.so.1"), "\(names)")
        #expect(!names.contains(where: HostMPI.isGlibc), "glibc's libraries are never bound: \(names)")
        #expect(host.directories.map(\.role) == [.openMPIComponents, .openMPIData, .openMPIConfiguration], "\(host.directories)")
        #expect(host.loadOrder.firstIndex(of: "libopen-pal.so.80")! < host.loadOrder.firstIndex(of: "libmpi.so.40")!, "\(host.loadOrder)")

        let binding = MPIBinding(host: host, bindDevices: false)
        let variables = Dictionary(uniqueKeysWithValues: binding.variables.map { ($0.name, $0.value) })
        #expect(variables["OPAL_PREFIX"] == "/.udocker/mpi/openmpi" && variables["OPAL_PKGLIBDIR"] == "/.udocker/mpi/openmpi/lib/openmpi")
        #expect(binding.binds.contains { $0.containerPath == "/.udocker/mpi/lib/libmpi.so.40" && $0.readOnly })
        var environment = EnvironmentList(["LD_LIBRARY_PATH=/opt/app/lib", "OPAL_PREFIX=/mine"])
        binding.apply(to: &environment, userSet: ["OPAL_PREFIX"])
        #expect(environment.value("LD_LIBRARY_PATH") == "/.udocker/mpi/lib:/opt/app/lib" && environment.value("OPAL_PREFIX") == "/mine")
    }

    @Test(arguments: [("mpiexec.hydra", MPILibrary.Family.mpich), ("orterun", .openMPI)])
    func theLauncherOnPathChoosesTheFamilyWhereBothAreInstalled(launcher: String, family: MPILibrary.Family) throws {
        let trees = try MPITrees()
        let prefix = trees.base + "/both-" + launcher
        _ = try trees.library("libmpi.so.40", in: prefix + "/lib", source: "const char *v = \"v4.1.4\";\n")
        _ = try trees.library("libmpich.so.12", in: prefix + "/lib", source: "int MPI_Init(void) { return 0; }\n")
        try Files.makeDirectory(prefix + "/bin")
        try Files.write("#!/bin/sh\n", to: prefix + "/bin/" + launcher, mode: 0o755)
        try FileManager.default.createSymbolicLink(atPath: prefix + "/bin/mpirun", withDestinationPath: launcher)
        let host = try HostMPI.discover(environment: ["PATH": prefix + "/bin"], resolver: trees.resolver)
        #expect(host.library.family == family && host.foundBy.hasPrefix("mpirun on PATH"), "\(host.library)")
        if family == .mpich {
            let binding = MPIBinding(host: host, bindDevices: false)
            // The MPICH ABI's library under both of its names, and no Open MPI relocation.
            #expect(binding.binds.filter { $0.hostPath == host.library.file }.map(\.containerPath).sorted()
                    == ["/.udocker/mpi/lib/libmpi.so.12", "/.udocker/mpi/lib/libmpich.so.12"], "\(binding.binds)")
            #expect(binding.variables.isEmpty)
        }
    }

    @Test func noHostMPIIsOneLineNamingWhereItLooked() throws {
        let trees = try MPITrees()
        #expect { try HostMPI.discover(environment: ["PATH": ""], resolver: trees.resolver) } throws: { error in
            (error as? UdockerError)?.message.contains("no host MPI") == true
        }
    }

    @Test func findsTheMPILibraryTheContainersProgramLinksAndItsGlibc() throws {
        let trees = try MPITrees()
        let root = try trees.container(mpiVersion: "4.1.2", in: "root-ompi")
        let program = ResolvedCommand(containerPath: "/opt/prog", hostPath: root + "/opt/prog")
        let container = ContainerMPI.discover(program: program, paths: ContainerPaths(root: root), libraryPath: nil)
        #expect(container.library?.soname == "libmpi.so.40" && container.library?.version == "4.1.2" && container.linkedByProgram)
        #expect(container.libraryPath == "/usr/lib/x86_64-linux-gnu/libmpi.so.40")
        #expect(container.glibcLevel == GlibcLevel.highest(in: "/lib/x86_64-linux-gnu/libc.so.6"))
    }

    @Test func eachRuleRefusesWhatItMustAndPassesTheRest() throws {
        let trees = try MPITrees()
        let host = try HostMPI.discover(environment: ["MPI_HOME": try trees.openMPI(version: "4.1.4", in: "ompi41")],
                                        resolver: trees.resolver)
        let root = try trees.container(mpiVersion: "4.1.2", in: "root-ompi412")
        let program = ResolvedCommand(containerPath: "/opt/prog", hostPath: root + "/opt/prog")
        let same = ContainerMPI.discover(program: program, paths: ContainerPaths(root: root), libraryPath: nil)
        func refused(_ container: ContainerMPI) -> [MPIVerdict.Rule] {
            MPIVerdict.check(host: host, container: container).filter { !$0.passed }.map(\.rule)
        }
        #expect(refused(same) == [], "\(MPIVerdict.check(host: host, container: same).map(\.line))")

        var newer = same
        newer.library?.version = "5.0.3"
        #expect(refused(newer) == [.version])
        #expect(MPIVerdict.check(host: host, container: newer)[2].detail == "the host's Open MPI 4.1.4 is older than the container's 5.0.3")

        var mpich = same
        mpich.library = MPILibrary(file: try trees.library("libmpich.so.12", in: trees.base + "/mpich", source: "int x;\n"))
        #expect(refused(mpich) == [.family, .soname])

        var oldGlibc = same
        oldGlibc.glibcLevel = 31
        var needy = host
        needy.glibcLevel = 34
        needy.glibcNeededBy = "libevent_core-2.1.so.7"
        #expect(MPIVerdict.check(host: needy, container: oldGlibc).filter { !$0.passed }.map(\.detail)
                == ["the host's MPI libraries need GLIBC_2.34 (libevent_core-2.1.so.7), the container's libc provides up to GLIBC_2.31"])

        var arm = same
        arm.identity.machine = 183
        #expect(refused(arm) == [.machine])

        var none = same
        none.library = nil
        #expect(refused(none) == MPIVerdict.Rule.allCases)
    }
}

/// MPI trees built with the host's gcc in the staging area.
struct MPITrees {
    static let gccReason: String? = FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") ? nil : "needs gcc (make deps)"

    let base: String
    /// The host's loader with no cache and no LD_LIBRARY_PATH: only the trees and the default directories.
    var resolver: LibraryResolver {
        let identity = ElfIdentity(path: "/proc/self/exe")!
        return LibraryResolver(container: nil, libraryPath: [], cache: [], defaultDirectories: LibraryResolver.defaultDirectories(identity),
                               identity: identity)
    }

    init(_ label: String = #function) throws {
        base = try Staging.shared().makeDirectory("mpi-trees-" + label.filter { $0.isLetter })
    }

    /// A shared library named `soname` in `directory` from C `source`, linked with `arguments`.
    @discardableResult
    func library(_ soname: String, in directory: String, source: String, arguments: [String] = []) throws -> String {
        try Files.makeDirectory(directory)
        let file = directory + "/" + soname
        try compile(source, ["-shared", "-fPIC", "-Wl,-soname," + soname, "-o", file] + arguments)
        return file
    }

    func compile(_ source: String, _ arguments: [String]) throws {
        let path = base + "/source-\(UUID().uuidString).c"
        try Files.write(source, to: path)
        let result = try Command.run(["gcc", "-O1", path] + arguments, timeout: .seconds(60))
        guard result.succeeded else { throw TestSupportError("gcc failed:\n\(result)") }
    }

    /// PREFIX/lib/libmpi.so.40 stating `version` and needing libopen-pal.so.80 beside it ($ORIGIN), a component in
    /// PREFIX/lib/openmpi needing a fabric library, help texts in PREFIX/share/openmpi, configuration in PREFIX/etc.
    func openMPI(version: String, in name: String) throws -> String {
        let prefix = base + "/" + name, lib = prefix + "/lib"
        let pal = try library("libopen-pal.so.80", in: lib, source: "int pal(void) { return 1; }\n")
        try library("libmpi.so.40", in: lib, source: "extern int pal(void);\nconst char *ompi_version = \"v\(version)\";\nint MPI_Init(void) { return pal(); }\n",
                    arguments: [pal, "-Wl,-rpath,$ORIGIN"])
        let fabric = try library("libfabric-fake.so.1", in: lib, source: "int fab(void) { return 2; }\n")
        try library("mca_btl_fake.so", in: lib + "/openmpi", source: "extern int fab(void);\nint component(void) { return fab(); }\n",
                    arguments: [fabric, "-Wl,-rpath,$ORIGIN/.."])
        try Files.makeDirectory(prefix + "/share/openmpi")
        try Files.makeDirectory(prefix + "/etc")
        try Files.write("# none\n", to: prefix + "/etc/openmpi-mca-params.conf")
        return prefix
    }

    /// A container ROOT with the host's libc, an Open MPI libmpi.so.40 stating `mpiVersion` and /opt/prog linking it.
    func container(mpiVersion: String, in name: String) throws -> String {
        let root = base + "/" + name, lib = root + "/usr/lib/x86_64-linux-gnu"
        try Files.makeDirectory(root + "/lib/x86_64-linux-gnu")
        try Files.copy("/lib/x86_64-linux-gnu/libc.so.6", to: root + "/lib/x86_64-linux-gnu/libc.so.6", mode: 0o755)
        let mpi = try library("libmpi.so.40", in: lib, source: "const char *ompi_version = \"v\(mpiVersion)\";\nint MPI_Init(void) { return 0; }\n")
        try Files.makeDirectory(root + "/opt")
        try compile("extern int MPI_Init(void);\nint main(void) { return MPI_Init(); }\n", ["-o", root + "/opt/prog", mpi])
        return root
    }
}
