import Foundation

/// A depth-first walk of a directory tree through descriptors: symlinks are reported, never followed; the
/// children of a directory come in bytewise order; a directory on another file system is reported but not
/// entered (as `tar --one-file-system` does). The walk's root itself is not reported.
struct TreeWalker {
    struct Entry {
        /// Readable descriptor of the directory holding the entry (valid during the callback).
        let directory: Int32
        /// NUL-terminated name inside `directory`.
        let name: [CChar]
        /// NUL-terminated path from the walk's root, `a/b/c`.
        let path: [CChar]
        let status: stat
        var isDirectory: Bool { DescriptorCalls.isDirectory(status) }
    }

    /// Identity of a file, to recognise hardlinks.
    struct FileID: Hashable {
        let device: UInt64
        let inode: UInt64
        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    let root: String

    /// Calls `visit` for every entry; for a directory, `leave` follows once everything below it was visited.
    func walk(visit: (Entry) throws -> Void, leave: (Entry) throws -> Void = { _ in }) throws {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot open directory", root) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw UdockerError.posix("cannot stat", root) }
        try walk(fd, prefix: [], device: st.st_dev, visit: visit, leave: leave)
    }

    private func walk(_ directory: Int32, prefix: [CChar], device: dev_t,
                      visit: (Entry) throws -> Void, leave: (Entry) throws -> Void) throws {
        for name in try DescriptorCalls.list(directory) {
            guard let status = try DescriptorCalls.status(name, in: directory) else { continue }
            let path = prefix.isEmpty ? name : prefix.dropLast() + [CChar(UInt8(ascii: "/"))] + name
            let entry = Entry(directory: directory, name: name, path: path, status: status)
            try visit(entry)
            guard entry.isDirectory else { continue }
            if status.st_dev == device {
                let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw UdockerError.posix("cannot open directory", root + "/" + String(nulTerminated: path)) }
                defer { close(child) }
                try walk(child, prefix: path, device: device, visit: visit, leave: leave)
            } else {
                Log.debug("not descending into \(String(nulTerminated: path)): another file system")
            }
            try leave(entry)
        }
    }
}
