import CSquashfs
import Foundation

/// Extracts a SquashFS image into an empty directory in one pass through libsquashfs: the fallback where an
/// image cannot be mounted, and the staging of a published `.sqfs`. The file's digest is checked first, so what
/// is extracted is the file its manifest names. Entries are made with the *at() calls below descriptors of
/// directories this extraction created (never following a name); a name that could leave the directory (empty,
/// `.`, `..`, containing `/`) fails the extraction. Regular files, directories, symlinks and hard links are
/// made with the image's modes and times; owners are the extracting user's, and other types are skipped, as
/// `create` does.
public enum SquashExtractor {
    /// With `probe` (a dry run's), regular files it passes over are made sparse, their bytes not read.
    public static func extract(_ image: String, expectedDigest: String?, into root: String, probe: ProbeSelection? = nil) throws {
        if let expectedDigest {
            let digest = try Digest.sha256(file: image)
            guard digest == expectedDigest else {
                throw UdockerError(.invalidInput, "\(image) has digest \(digest), not the \(expectedDigest) its manifest names")
            }
        }
        let reader = try SquashImageReader(path: image)
        guard let top = reader.root else { throw UdockerError(.invalidInput, "\(image) has no root directory") }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot open directory", root) }
        defer { close(fd) }
        var extraction = Extraction(reader: reader, root: fd, probe: probe)
        try extraction.children(of: top, in: fd, path: "")
        try extraction.restoreDirectoryTimes()
    }

    private struct Extraction {
        let reader: SquashImageReader
        let root: Int32
        let probe: ProbeSelection?
        /// The first path extracted for each inode number, for its further names (hard links).
        var firstNames: [UInt32: String] = [:]
        var directoryTimes: [(path: String, time: timespec)] = []

        init(reader: SquashImageReader, root: Int32, probe: ProbeSelection?) {
            self.reader = reader
            self.root = root
            self.probe = probe
        }

        mutating func children(of node: SquashImageReader.TreeNode, in directory: Int32, path: String) throws {
            var child = node.pointee.children
            while let current = child {
                let name = String(cString: ud_sqfs_tree_node_name(current))
                guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
                    throw UdockerError(.invalidInput, "the image has an entry named \(name.debugDescription) under /\(path), which could leave the root")
                }
                try entry(current, named: name, in: directory, path: path.isEmpty ? name : path + "/" + name)
                child = current.pointee.next
            }
        }

        private mutating func entry(_ node: SquashImageReader.TreeNode, named name: String, in directory: Int32, path: String) throws {
            guard let inode = node.pointee.inode else { return }
            let base = inode.pointee.base
            let permissions = mode_t(base.mode) & 0o7777
            let time = timespec(tv_sec: Int(base.mod_time), tv_nsec: 0)
            let type = Int(base.type)
            if type == Int(SQFS_INODE_DIR.rawValue) || type == Int(SQFS_INODE_EXT_DIR.rawValue) {
                guard mkdirat(directory, name, 0o700) == 0 else { throw UdockerError.posix("cannot create directory", path) }
                let fd = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw UdockerError.posix("cannot open directory", path) }
                defer { close(fd) }
                try children(of: node, in: fd, path: path)
                fchmod(fd, ArchiveExtraction.directoryMode(permissions))
                directoryTimes.append((path, time))
                return
            }
            if let first = firstNames[base.inode_number] {
                guard linkat(root, first, directory, name, 0) == 0 else { throw UdockerError.posix("cannot link", path) }
                return
            }
            if type == Int(SQFS_INODE_FILE.rawValue) || type == Int(SQFS_INODE_EXT_FILE.rawValue) {
                let fd = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw UdockerError.posix("cannot create", path) }
                defer { close(fd) }
                var size: UInt64 = 0
                _ = sqfs_inode_get_file_size(inode, &size)
                let top = String(path.prefix { $0 != "/" })
                if probe?.keepsData(top: top, name: name, size: Int64(size), permissions: permissions) == false {
                    guard ftruncate(fd, off_t(size)) == 0 else { throw UdockerError.posix("cannot size", path) }
                } else {
                    try reader.readData(inode, size: size) { bytes in
                        var done = 0
                        while done < bytes.count {
                            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
                            if n < 0 { if errno == EINTR { continue }; throw UdockerError.posix("cannot write", path) }
                            done += n
                        }
                    }
                }
                fchmod(fd, ArchiveExtraction.fileMode(permissions))
                _ = futimens(fd, [time, time])
            } else if type == Int(SQFS_INODE_SLINK.rawValue) || type == Int(SQFS_INODE_EXT_SLINK.rawValue) {
                let length = Int(inode.pointee.data.slink.target_size)
                let bytes = UnsafeRawBufferPointer(start: ud_sqfs_inode_payload(inode), count: length)
                let target = Array(bytes.map { CChar(bitPattern: $0) }) + [0]
                guard symlinkat(target, directory, name) == 0 else { throw UdockerError.posix("cannot create symlink", path) }
                _ = utimensat(directory, name, [time, time], AT_SYMLINK_NOFOLLOW)
            } else {
                return  // devices, fifos, sockets: skipped, as create skips them
            }
            firstNames[base.inode_number] = path
        }

        func restoreDirectoryTimes() throws {
            for (path, time) in directoryTimes { _ = utimensat(root, path, [time, time], AT_SYMLINK_NOFOLLOW) }
        }
    }
}
