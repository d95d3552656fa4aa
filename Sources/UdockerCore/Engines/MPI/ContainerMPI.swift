import Foundation

/// The MPI a container's program would use on its own: the MPI library it links, resolved in ROOT as the
/// container's loader would (its LD_LIBRARY_PATH, ld.so.cache and default directories), else — for a script or
/// a program that links none — the one the container's loader finds by soname; and the container's glibc.
public struct ContainerMPI: Sendable, Equatable {
    public var library: MPILibrary?
    /// Where the library lies in the container, and whether the program links it.
    public var libraryPath: String?
    public var linkedByProgram: Bool
    /// The highest GLIBC_2.N the container's libc.so.6 defines.
    public var glibcLevel: Int?
    /// The class and machine of the program (or of the container's shell when the program is a script).
    public var identity: ElfIdentity

    public static func discover(program: ResolvedCommand, paths: ContainerPaths, libraryPath: String?) -> ContainerMPI {
        let binary = program.interpreterHostPath ?? program.hostPath
        let identity = ElfIdentity(path: binary) ?? NvidiaBinding.containerIdentity(paths)
        let resolver = LibraryResolver.container(paths, libraryPath: libraryPath, identity: identity)
        let glibc = resolver.resolve("libc.so.6", neededBy: nil, at: nil).flatMap { GlibcLevel.highest(in: $0.file) }
        let programPath = program.interpreter?[0] ?? program.containerPath
        let linked = resolver.closure(of: [programPath], skip: HostMPI.isGlibc).libraries
            .first { MPILibrary.sonames[$0.name] != nil }
        if let linked, let library = MPILibrary(file: linked.file, soname: linked.name) {
            return ContainerMPI(library: library, libraryPath: linked.path, linkedByProgram: true, glibcLevel: glibc, identity: identity)
        }
        for name in MPILibrary.sonames.keys.sorted() {
            if let found = resolver.resolve(name, neededBy: nil, at: nil), let library = MPILibrary(file: found.file, soname: name) {
                return ContainerMPI(library: library, libraryPath: found.path, linkedByProgram: false, glibcLevel: glibc, identity: identity)
            }
        }
        return ContainerMPI(library: nil, libraryPath: nil, linkedByProgram: false, glibcLevel: glibc, identity: identity)
    }
}
