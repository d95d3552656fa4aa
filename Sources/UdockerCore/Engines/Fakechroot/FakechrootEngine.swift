/// F1–F4: the container's own dynamic loader runs the command with the host's libfakechroot preloaded, which
/// rewrites every path the program uses to lie under ROOT (except FAKECHROOT_EXCLUDE_PATH).
/// F1 invokes the loader explicitly (and fakechroot does so again for every exec); F2 also uses a loader that
/// reads LD_LIBRARY_REAL and never searches the host's default directories; F3/F4 run programs whose ELF
/// interpreter and rpath were patched to point into ROOT. What each mode needs on disk is made by
/// `FakechrootSetup`; this type only builds the command.
public struct FakechrootEngine: Engine {
    /// libfakechroot.so on the host.
    public var library: String
    /// The container's loader and library directories, as container paths.
    public var state: FakechrootState
    /// Host temporary directory for AF_UNIX sockets whose paths would be too long under ROOT.
    public var tmpDir: String
    public var debug: Bool
    /// Whether the container's loader takes `--argv0` (glibc 2.33 and later); an older one gives the command the
    /// program's path as argv[0].
    public var loaderTakesArgv0: Bool

    public init(library: String, state: FakechrootState, tmpDir: String = "/tmp", debug: Bool = false, loaderTakesArgv0: Bool = true) {
        self.library = library; self.state = state; self.tmpDir = tmpDir; self.debug = debug
        self.loaderTakesArgv0 = loaderTakesArgv0
    }

    public func plan(_ run: ContainerRun) throws -> ExecPlan {
        guard let executable = run.executable else { throw UdockerError(.internalError, "command not resolved") }
        let root = run.root
        var preparation: [PreparationStep] = []
        var excluded: [String] = []
        var volumes: [VolumeLinks.Link] = []
        for bind in run.binds {
            if bind.hostPath == bind.containerPath {
                excluded.append(bind.hostPath)
            } else if [NvidiaBinding.directory, MPIBinding.directory].contains(where: { bind.containerPath.hasPrefix($0 + "/") }) {
                // The NVIDIA driver's and the host MPI's links follow the host's files when they are upgraded.
                preparation.append(.symlink(target: bind.hostPath, path: root + bind.containerPath, replaceLink: true))
            } else {
                volumes.append(VolumeLinks.Link(hostPath: bind.hostPath, containerPath: bind.containerPath))
            }
        }
        if let volume = volumes.first(where: { Self.path(run.workingDirectory, isWithin: $0.containerPath) }) {
            // The kernel's working directory would be the host's: getcwd() would give the host path, and this
            // libfakechroot (no directory map) would put every relative path under ROOT, where it leads nowhere.
            throw UdockerError(.unsupported, "\(run.mode.rawValue) cannot work in \(run.workingDirectory): it lies in the volume "
                               + "\(volume.hostPath) bound at another path (\(volume.containerPath)), where relative paths cannot work "
                               + "in F modes; bind it at its own path (-v \(volume.hostPath):\(volume.hostPath) -w \(volume.hostPath)"
                               + "\(run.workingDirectory.dropFirst(volume.containerPath.count))) or use P1 or U1")
        }
        // Always, so that a run without the volumes of an earlier one gets the container's directories back.
        preparation.append(.volumeLinks(VolumeLinks(root: root, record: run.containerDir + "/" + ContainerFile.volumeLinks.rawValue,
                                                    links: volumes)))
        if let accounts = run.accounts {
            if accounts.fromHost {
                excluded += ["/etc/passwd", "/etc/group"]
            } else {
                // Written where the container's /etc/passwd leads (an image may make it a link): a link in ROOT
                // stays a link.
                let paths = ContainerPaths(root: root)
                for (file, contents) in [("/etc/passwd", accounts.passwd), ("/etc/group", accounts.group)] {
                    preparation.append(.writeFile(path: paths.hostPath(file) ?? root + file, contents: contents, mode: 0o644))
                }
            }
        }
        if let cpus = run.options.cpuSet { preparation.append(.cpuAffinity(try CPUSet.parse(cpus))) }

        // The loader reads LD_LIBRARY_PATH itself, unseen by fakechroot: the container's own entries (as its
        // loader would search them, first) and its library directories, as host paths.
        let paths = ContainerPaths(root: root, binds: run.binds)
        let containerLibraryPath = (EnvironmentList(run.environment).value("LD_LIBRARY_PATH") ?? "").split(separator: ":")
            .filter { $0.hasPrefix("/") }.map { paths.hostPath(String($0)) ?? root + $0 }
        let libraryPath = (containerLibraryPath + state.libraryDirectories.map { root + $0 }).joined(separator: ":")
        let loader = root + state.loader
        var env = EnvironmentList(run.environment)
        env.set("PWD", run.workingDirectory)
        env.set("FAKECHROOT_BASE", root)
        // The host's MPI (--mpi=host) before the patched DT_RPATH could find the container's.
        let mpiPreload = (run.mpi.binding?.preload ?? []).map { paths.hostPath($0) ?? root + $0 }
        env.set("LD_PRELOAD", ([library] + mpiPreload).joined(separator: ":"))
        if !excluded.isEmpty { env.set("FAKECHROOT_EXCLUDE_PATH", excluded.joined(separator: ":")) }
        if !run.isBound(containerPath: "/tmp") { env.set("FAKECHROOT_AF_UNIX_PATH", tmpDir) }
        if debug { env.set("FAKECHROOT_DEBUG", "true") }
        switch run.mode {
        case .F1:
            env.set("FAKECHROOT_ELFLOADER", loader)
            env.set("LD_LIBRARY_PATH", libraryPath)
        case .F2:
            env.set("FAKECHROOT_ELFLOADER", loader)
            env.set("LD_LIBRARY_REAL", libraryPath)
            env.set("LD_LIBRARY_PATH", libraryPath)
        default:
            env.set("LD_LIBRARY_REAL", libraryPath)
            env.set("LD_LIBRARY_PATH", libraryPath)
        }

        // A script is started through its interpreter: neither the loader nor the host kernel may read its #!.
        var program: [String]
        if let interpreter = executable.interpreter {
            guard let interpreterHost = executable.interpreterHostPath else {
                throw UdockerError(.notFound, "interpreter \(interpreter[0]) of \(executable.containerPath) not found in the container")
            }
            program = [interpreterHost] + interpreter.dropFirst() + [executable.containerPath]
        } else {
            program = [executable.hostPath]
        }
        let arguments = Array(run.command.dropFirst())
        if run.mode == .F1 || run.mode == .F2 {
            let argv0 = executable.interpreter?[0] ?? run.command[0]
            let loaderArguments = loaderTakesArgv0 ? [loader, "--argv0", argv0] : [loader]
            return ExecPlan(executable: loader, arguments: loaderArguments + program + arguments,
                            environment: env.entries, hostWorkingDirectory: run.hostWorkingDirectory, preparation: preparation)
        }
        var argv = program
        argv[0] = executable.interpreter?[0] ?? run.command[0]
        return ExecPlan(executable: program[0], arguments: argv + arguments, environment: env.entries,
                        hostWorkingDirectory: run.hostWorkingDirectory, preparation: preparation)
    }
}

extension FakechrootEngine {
    static func path(_ path: String, isWithin directory: String) -> Bool {
        let path = Paths.trimTrailingSlashes(path), directory = Paths.trimTrailingSlashes(directory)
        return path == directory || path.hasPrefix(directory + "/")
    }
}

/// What F modes know about a container after its set-up.
public struct FakechrootState: Sendable, Equatable {
    /// The container's dynamic loader (container path, links resolved).
    public var loader: String
    /// Directories the container's libraries live in (container paths), searched in this order.
    public var libraryDirectories: [String]

    public init(loader: String, libraryDirectories: [String]) {
        self.loader = loader; self.libraryDirectories = libraryDirectories
    }
}
