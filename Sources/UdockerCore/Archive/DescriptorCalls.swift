import Foundation

/// Directory-descriptor relative system calls shared by extraction, tar writing and tree copying. Names are raw
/// NUL-terminated bytes; nothing here follows a symlink in the last component.
enum DescriptorCalls {
    /// Linux's O_PATH (a descriptor that only anchors *at() calls, needing no read permission); Glibc hides it
    /// behind _GNU_SOURCE, which Swift's Glibc module does not define. Same value on x86_64, arm64, ppc64le, s390x.
    static let pathOnly: Int32 = 0o10000000

    /// The entries of a directory (without `.` and `..`), sorted bytewise so that archives come out the same
    /// every time. `directory` may be an O_PATH descriptor; it stays open.
    static func list(_ directory: Int32) throws -> [[CChar]] {
        try FileSystem.entries(ofDirectory: directory)
            .sorted { $0.lexicographicallyPrecedes($1) { UInt8(bitPattern: $0) < UInt8(bitPattern: $1) } }
    }

    /// lstat of `name` in `directory`; nil when it does not exist.
    static func status(_ name: [CChar], in directory: Int32) throws -> stat? {
        var st = stat()
        if fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw UdockerError.posix("cannot stat", display(name))
    }

    /// The target of the symlink `name` in `directory`, NUL-terminated.
    static func readLink(_ name: [CChar], in directory: Int32) throws -> [CChar] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(directory, name, &buffer, buffer.count - 1)
        guard n >= 0 else { throw UdockerError.posix("cannot read link", display(name)) }
        return Array(buffer[0..<n]) + [0]
    }

    /// A new descriptor on the same directory (for a walk that must outlive the caller's descriptor).
    static func reopen(_ directory: Int32, flags: Int32 = pathOnly) throws -> Int32 {
        let fd = openat(directory, ".", flags | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot open", "directory") }
        return fd
    }

    static func isDirectory(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFDIR }
    static func isSymlink(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFLNK }

    static func display(_ name: [CChar]) -> String { String(nulTerminated: name) }
}
