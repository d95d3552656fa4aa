/// How a container's program gets the host's MPI (`--mpi=host`): the MPI library and its closure are bound
/// read-only into one directory of udocker's own, /.udocker/mpi/lib, put first on LD_LIBRARY_PATH (the
/// container's loader then takes them before its own, and the container's libc serves them: glibc's libraries are
/// never among them); the MPICH ABI's library under both its names (libmpi.so.12, Debian's libmpich.so.12).
/// Open MPI is relocated there with OPAL_PREFIX and its component, help and configuration directories and the
/// helper a singleton starts (orted, prte) in OPAL_PREFIX/bin; PMIx,
/// UCX and libfabric are pointed at their bound component directories; libibverbs' providers and configuration,
/// which it finds at paths compiled in, and the interconnect's devices are bound at their own paths. Engines
/// carry these binds like -v volumes (U1 and R modes mount them, P modes bind them in proot, F modes link them
/// from ROOT), as they carry the NVIDIA driver's.
public struct MPIBinding: Sendable, Equatable {
    public static let directory = RuncEngine.prootDir + "/mpi"
    public static let libraryDirectory = directory + "/lib"
    static let openMPIPrefix = directory + "/openmpi"
    static let pmixPrefix = directory + "/pmix"

    /// The MPICH ABI's libraries by their other name (the ABI's, or Debian's MPICH's).
    static let otherNames = ["libmpi.so.12": "libmpich.so.12", "libmpich.so.12": "libmpi.so.12",
                             "libmpicxx.so.12": "libmpichcxx.so.12", "libmpichcxx.so.12": "libmpicxx.so.12",
                             "libmpifort.so.12": "libmpichfort.so.12", "libmpichfort.so.12": "libmpifort.so.12"]

    public var binds: [RunOptions.Volume]
    /// Container paths of the libraries to preload where a program's own DT_RPATH would be searched before
    /// LD_LIBRARY_PATH (F3/F4 set it to ROOT's directories): a library loaded already is taken by its soname.
    public var preload: [String]
    /// Variables that point the stack at what is bound, in order.
    public var variables: [(name: String, value: String)]

    public static func == (a: MPIBinding, b: MPIBinding) -> Bool {
        a.binds == b.binds && a.preload == b.preload && a.variables.map { $0.name + "=" + $0.value } == b.variables.map { $0.name + "=" + $0.value }
    }

    /// `bindDevices`: false where the container's /dev already is the host's (a sysdir bind), true otherwise.
    public init(host: HostMPI, bindDevices: Bool) {
        func bind(_ file: String, _ target: String) -> RunOptions.Volume {
            RunOptions.Volume(hostPath: file, containerPath: target, readOnly: true)
        }
        var binds: [RunOptions.Volume] = []
        var names = Set<String>()
        for library in host.libraries where names.insert(library.name).inserted {
            binds.append(bind(library.file, Self.libraryDirectory + "/" + library.name))
        }
        for library in host.libraries {
            if let other = Self.otherNames[library.name], names.insert(other).inserted {
                binds.append(bind(library.file, Self.libraryDirectory + "/" + other))
            }
        }
        var variables: [(String, String)] = []
        if host.library.family == .openMPI {
            variables += [("OPAL_PREFIX", Self.openMPIPrefix), ("OPAL_LIBDIR", Self.libraryDirectory)]
        }
        for directory in host.directories {
            let (target, variable): (String, String?)
            switch directory.role {
            case .openMPIComponents: (target, variable) = (Self.openMPIPrefix + "/lib/openmpi", "OPAL_PKGLIBDIR")
            case .openMPIData: (target, variable) = (Self.openMPIPrefix + "/share/openmpi", "OPAL_PKGDATADIR")
            case .openMPIConfiguration: (target, variable) = (Self.openMPIPrefix + "/etc", "OPAL_SYSCONFDIR")
            case .pmixComponents: (target, variable) = (Self.pmixPrefix + "/lib/pmix", "PMIX_PKGLIBDIR")
            case .pmixData: (target, variable) = (Self.pmixPrefix + "/share/pmix", "PMIX_PKGDATADIR")
            case .ucxModules: (target, variable) = (Self.libraryDirectory + "/ucx", "UCX_MODULE_DIR")
            case .fabricProviders: (target, variable) = (Self.libraryDirectory + "/libfabric", "FI_PROVIDER_PATH")
            case .verbsProviders, .verbsConfiguration: (target, variable) = (directory.path, nil)
            }
            binds.append(bind(directory.path, target))
            if let variable { variables.append((variable, target)) }
        }
        // A singleton forks orted (prte) from OPAL_PREFIX/bin; it finds the bound libraries on LD_LIBRARY_PATH.
        for (name, program) in host.helpers.sorted(by: { $0.key < $1.key }) {
            binds.append(bind(program, Self.openMPIPrefix + "/bin/" + name))
        }
        if bindDevices { binds += host.devices.map { RunOptions.Volume(hostPath: $0, containerPath: $0) } }
        self.binds = binds
        self.variables = variables
        self.preload = host.loadOrder.map { Self.libraryDirectory + "/" + $0 }
    }

    /// The library directory first on LD_LIBRARY_PATH, and the stack's variables, except those the user set.
    public func apply(to environment: inout EnvironmentList, userSet: Set<String>) {
        for (name, value) in variables where !userSet.contains(name) { environment.set(name, value) }
        let libraries = environment.value("LD_LIBRARY_PATH").flatMap { $0.isEmpty ? nil : $0 }
        environment.set("LD_LIBRARY_PATH", Self.libraryDirectory + (libraries.map { ":" + $0 } ?? ""))
    }
}
