import Foundation

/// Path-string helpers. The project handles POSIX paths as plain strings: every caller ends in a system call.
public enum Paths {
    public static func join(_ parts: String...) -> String { join(parts) }

    public static func join(_ parts: [String]) -> String {
        var result = ""
        for part in parts where !part.isEmpty {
            if result.isEmpty { result = part; continue }
            result = trimTrailingSlashes(result) + "/" + (part.hasPrefix("/") ? String(part.drop(while: { $0 == "/" })) : part)
        }
        return result
    }

    public static func trimTrailingSlashes(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }

    public static func basename(_ path: String) -> String {
        let trimmed = trimTrailingSlashes(path)
        return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    public static func dirname(_ path: String) -> String {
        let trimmed = trimTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// The path of `target` relative to directory `from`; both absolute. Used for udocker's relative symlinks.
    public static func relative(_ target: String, from directory: String) -> String {
        let t = target.split(separator: "/"), d = directory.split(separator: "/")
        var common = 0
        while common < t.count && common < d.count && t[common] == d[common] { common += 1 }
        let up = Array(repeating: "..", count: d.count - common)
        let rest = t[common...].map(String.init)
        let all = up + rest
        return all.isEmpty ? "." : all.joined(separator: "/")
    }

    /// An absolute, normalised form of `path` (no symlink resolution), relative paths taken from the cwd.
    public static func absolute(_ path: String) -> String {
        let base = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var out: [Substring] = []
        for part in base.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = out.popLast(); continue }
            out.append(part)
        }
        return "/" + out.joined(separator: "/")
    }
}

/// Thin, throwing wrappers over the file system calls the stores use. Nothing here follows a symlink unless
/// its name says so.
public enum FileSystem {
    public enum Kind: Sendable { case missing, file, directory, symlink, other }

    public static func kind(_ path: String) -> Kind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    public static func exists(_ path: String) -> Bool { kind(path) != .missing }
    public static func isDirectory(_ path: String) -> Bool { kind(path) == .directory }
    public static func isFile(_ path: String) -> Bool { kind(path) == .file }
    public static func isSymlink(_ path: String) -> Bool { kind(path) == .symlink }

    /// True for a directory or a symlink that resolves to one.
    public static func isDirectoryFollowingLinks(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func size(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : -1
    }

    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        if isDirectoryFollowingLinks(path) { return }
        let parent = Paths.dirname(path)
        if parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw UdockerError.posix("cannot create directory", path) }
    }

    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw UdockerError.posix("cannot list", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func read(_ path: String) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw UdockerError.posix("cannot read", path) }
        defer { try? handle.close() }
        return handle.readDataToEndOfFile()
    }

    public static func readString(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// The content of a small one-value file (execmode, ld.so.path, …) without the whitespace around it; nil when
    /// it cannot be read. On run's path: no Foundation file handle or character set, no error built when absent.
    public static func readValue(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0d).contains(byte) }
        let start = bytes.firstIndex { !isSpace($0) } ?? bytes.endIndex
        let end = bytes.lastIndex { !isSpace($0) }.map { $0 + 1 } ?? start
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes `data` to a temporary name in the same directory, fsyncs it and renames it over `path`:
    /// readers see the old content or the new, never a torn file.
    public static func atomicWrite(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        let temp = Paths.dirname(path) + "/" + Temporary.name(.file, String(UInt32.random(in: 0...UInt32.max)))
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw UdockerError.posix("cannot create", temp) }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; ok = false; return }
                offset += n
            }
        }
        let savedErrno = errno
        if ok { ok = fsync(fd) == 0 }
        close(fd)
        guard ok, rename(temp, path) == 0 else {
            let code = ok ? errno : savedErrno
            unlink(temp)
            throw UdockerError.posix("cannot write", path, errno: code)
        }
    }

    public static func atomicWrite(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        try atomicWrite(Data(text.utf8), to: path, mode: mode)
    }

    /// Creates (or truncates) a small file; used for marker files such as TAG, v2, PROTECT.
    public static func touch(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw UdockerError.posix("cannot create", path) }
        close(fd)
    }

    public static func removeFile(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw UdockerError.posix("cannot remove", path) }
    }

    /// Creates a symlink at `link` pointing to `target` by a relative path, as udocker does for layers and names.
    public static func relativeSymlink(to target: String, at link: String) throws {
        let relative = Paths.relative(Paths.absolute(target), from: Paths.dirname(Paths.absolute(link)))
        if symlink(relative, link) != 0 { throw UdockerError.posix("cannot create link", link) }
    }

    /// Removes a tree at any depth, even where the container's files are read-only (directories are made
    /// owner-rwx first). It works on descriptors, one name at a time, so a tree deeper than PATH_MAX goes too;
    /// symlinks are removed, never followed. What vanishes meanwhile (another process removing the same tree)
    /// is not an error.
    public static func removeTree(_ path: String) throws {
        let parent = open(Paths.dirname(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else {
            if errno == ENOENT { return }
            throw UdockerError.posix("cannot remove", path)
        }
        defer { close(parent) }
        do {
            try removeEntry(Array(Paths.basename(path).utf8CString), in: parent)
        } catch let error as UdockerError {
            throw UdockerError(error.code, "cannot remove \(path)", cause: error)
        }
    }

    /// Removes `name` (NUL-terminated) in the directory `parent`, whatever it is, a directory with everything below it.
    static func removeEntry(_ name: [CChar], in parent: Int32) throws {
        var st = stat()
        guard fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw UdockerError.posix("cannot stat", String(nulTerminated: name))
        }
        if st.st_mode & S_IFMT == S_IFDIR {
            var fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == EACCES {
                // A directory its owner made unreadable: the name was just seen to be a directory, not a link.
                fchmodat(parent, name, 0o700, 0)
                fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            guard fd >= 0 else {
                if errno == ENOENT { return }
                throw UdockerError.posix("cannot open directory", String(nulTerminated: name))
            }
            defer { close(fd) }
            fchmod(fd, 0o700)
            for child in try entries(ofDirectory: fd) { try removeEntry(child, in: fd) }
            if unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT {
                throw UdockerError.posix("cannot remove directory", String(nulTerminated: name))
            }
        } else if unlinkat(parent, name, 0) != 0 && errno != ENOENT {
            throw UdockerError.posix("cannot remove", String(nulTerminated: name))
        }
    }

    /// The entries of the directory `directory` (a descriptor, left open) without `.` and `..`, as NUL-terminated
    /// raw names, in the order the file system gives them.
    static func entries(ofDirectory directory: Int32) throws -> [[CChar]] {
        let fd = openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let stream = fdopendir(fd) else {
            if fd >= 0 { close(fd) }
            throw UdockerError.posix("cannot list", "directory")
        }
        defer { closedir(stream) }
        var names: [[CChar]] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [CChar] in
                raw.bindMemory(to: CChar.self).prefix(while: { $0 != 0 }) + [0]
            }
            if name == [46, 0] || name == [46, 46, 0] { continue }
            names.append(name)
        }
        return names
    }

    /// A new private directory under `parent` named `prefix` + random suffix.
    public static func makeTemporaryDirectory(in parent: String, prefix: String) throws -> String {
        var template = Array((Paths.join(parent, prefix) + "XXXXXX").utf8CString)
        guard let result = mkdtemp(&template) else { throw UdockerError.posix("cannot create temporary directory in", parent) }
        return String(cString: result)
    }

    /// Copies a regular file in the kernel (sendfile), falling back to reads and writes; fsyncs the copy. An
    /// existing target is overwritten in place (it keeps its inode, so its other hard links see the new bytes).
    /// False when the copy could not be made whole.
    public static func copyFile(_ source: String, to target: String) -> Bool {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return false }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { return false }
        var ok = true
        var useReadWrite = false
        while !useReadWrite {
            let n = sendfile(output, input, nil, 1 << 30)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                // Across file systems, or where the kernel lacks it: fall back to plain reads and writes.
                if errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP { useReadWrite = true; break }
                ok = false; break
            }
        }
        if useReadWrite {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while ok {
                let n = Glibc.read(input, &buffer, buffer.count)
                if n < 0 { if errno == EINTR { continue }; ok = false; break }
                if n == 0 { break }
                var written = 0
                while written < n {
                    let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, n - written) }
                    if w < 0 { if errno == EINTR { continue }; ok = false; break }
                    written += w
                }
            }
        }
        if ok { ok = fsync(output) == 0 }
        close(output)
        return ok
    }

    /// Flushes a file's data to disk; false when it cannot be opened or synced.
    public static func fsyncFile(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return fsync(fd) == 0
    }
}
