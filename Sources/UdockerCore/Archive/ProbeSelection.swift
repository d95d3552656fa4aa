import Foundation

/// Which regular files a probe extraction (`udocker-launch --dry-run` on a target not yet staged) writes with their
/// bytes: the files the launcher's decision reads — /etc, the C library and loader, the MPI libraries, every
/// executable (the program, and the programs whose ELF interpreter names the loader) and small files (scripts'
/// `#!` lines). Every other regular file becomes a sparse file of its size and mode, so that a path lookup, an
/// execute-bit test or a size sees what the stage would; its bytes read as zeros, which no decision needs.
/// Counts what it saw, for the dry run to say what staging would write.
public final class ProbeSelection {
    public private(set) var files = 0
    public private(set) var bytes: Int64 = 0
    public private(set) var keptFiles = 0
    public private(set) var keptBytes: Int64 = 0

    static let smallFile: Int64 = 4096
    static let libraryPrefixes = ["libc.so", "libc-", "ld-linux", "ld-", "libmpi", "libmpich"]

    public init() {}

    func keepsData(_ path: MemberPath, _ member: ArchiveMember) -> Bool {
        keepsData(top: String(nulTerminated: path.components[0]), name: String(nulTerminated: path.name),
                  size: member.size ?? 0, permissions: member.permissions)
    }

    /// A regular file whose first path component is `top` and last `name` (SquashExtractor's entries, and the
    /// archive members above).
    func keepsData(top: String, name: String, size: Int64, permissions: mode_t) -> Bool {
        files += 1
        bytes += size
        let keep = size <= Self.smallFile || permissions & 0o111 != 0 || top == "etc"
            || Self.libraryPrefixes.contains { name.hasPrefix($0) }
        if keep { keptFiles += 1; keptBytes += size }
        return keep
    }
}
