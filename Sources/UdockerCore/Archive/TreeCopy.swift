import Foundation

/// Copies a directory tree into an existing empty directory: symlinks as symlinks, files sharing an inode as
/// hardlinks, sparse files with their holes, modes and times as they are. Device nodes, fifos and sockets are
/// skipped (an unprivileged copy cannot make devices, and containers do not keep the others).
public enum TreeCopy {
    public static func copy(_ source: String, into destination: String) throws {
        let destinationRoot = open(destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard destinationRoot >= 0 else { throw UdockerError.posix("cannot open directory", destination) }
        // Descriptors of the destination directories along the walk; the last is the current parent.
        var parents: [Int32] = [destinationRoot]
        defer { for fd in parents { close(fd) } }
        var firstCopies: [TreeWalker.FileID: [CChar]] = [:]

        try TreeWalker(root: source).walk(visit: { item in
            let parent = parents[parents.count - 1]
            let st = item.status
            let described = String(nulTerminated: item.path)
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                guard mkdirat(parent, item.name, 0o700) == 0 else { throw UdockerError.posix("cannot create", described) }
                let fd = openat(parent, item.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw UdockerError.posix("cannot open", described) }
                parents.append(fd)
            case S_IFLNK:
                let target = try DescriptorCalls.readLink(item.name, in: item.directory)
                guard symlinkat(target, parent, item.name) == 0 else { throw UdockerError.posix("cannot create", described) }
                _ = utimensat(parent, item.name, [st.st_atim, st.st_mtim], AT_SYMLINK_NOFOLLOW)
            case S_IFREG:
                let id = TreeWalker.FileID(st)
                if st.st_nlink > 1, let first = firstCopies[id] {
                    guard linkat(destinationRoot, first, parent, item.name, 0) == 0 else {
                        throw UdockerError.posix("cannot link", described)
                    }
                    return
                }
                try copyFile(item, into: parent)
                if st.st_nlink > 1 { firstCopies[id] = item.path }
            default:
                Log.debug("skipping special file \(described)")
            }
        }, leave: { item in
            // Last, so that copying the contents does not change the directory's time.
            let fd = parents.removeLast()
            defer { close(fd) }
            fchmod(fd, item.status.st_mode & 0o7777)
            _ = futimens(fd, [item.status.st_atim, item.status.st_mtim])
        })
    }

    private static func copyFile(_ item: TreeWalker.Entry, into parent: Int32) throws {
        let described = String(nulTerminated: item.path)
        let input = openat(item.directory, item.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw UdockerError.posix("cannot read", described) }
        defer { close(input) }
        let output = openat(parent, item.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw UdockerError.posix("cannot create", described) }
        defer { close(output) }
        try copyData(from: input, to: output, size: Int64(item.status.st_size), described)
        fchmod(output, item.status.st_mode & 0o7777)
        _ = futimens(output, [item.status.st_atim, item.status.st_mtim])
    }

    /// lseek's SEEK_DATA and SEEK_HOLE (Glibc hides them behind _GNU_SOURCE).
    private static let seekData: Int32 = 3, seekHole: Int32 = 4

    /// Copies the data regions of `input` in the kernel (sendfile), leaving holes as holes.
    private static func copyData(from input: Int32, to output: Int32, size: Int64, _ described: String) throws {
        var position: off_t = 0
        while position < size {
            var start = lseek(input, position, seekData)
            if start < 0 {
                if errno == ENXIO { break }  // only a hole is left
                start = position             // the file system cannot tell: copy everything
            }
            var end = lseek(input, start, seekHole)
            if end < 0 { end = off_t(size) }
            guard lseek(output, start, SEEK_SET) == start else { throw UdockerError.posix("cannot write", described) }
            var offset = start
            while offset < end {
                let n = sendfile(output, input, &offset, Int(end - offset))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw UdockerError.posix("cannot copy", described)
                }
                if n == 0 { break }
            }
            position = end
        }
        guard ftruncate(output, off_t(size)) == 0 else { throw UdockerError.posix("cannot write", described) }
    }
}
