import Foundation

/// Whether a published file (a manifest or an archive on the shared file system) may be trusted: only when no
/// user but its publisher could have written it. A manifest names the archive digest the launcher verifies, so a
/// manifest another user could replace would let that user choose what runs as you. Refused (one line naming the
/// file, its owner and mode):
///
/// - a file that is not a regular file, or is writable by group or others;
/// - a file in a directory writable by group or others without the sticky bit (anyone could rename another file
///   over it);
/// - a file owned by someone other than you, root or the directory's owner (in a sticky directory such as /tmp,
///   anyone can add files of their own).
///
/// Symlinks are followed: the rule applies to where the bytes are.
enum PublishedFileTrust {
    static func check(_ path: String) throws {
        guard let real = realpath(path, nil) else { throw UdockerError.posix("cannot read published file", path) }
        defer { free(real) }
        let resolved = String(cString: real)
        var file = stat(), directory = stat()
        guard lstat(resolved, &file) == 0 else { throw UdockerError.posix("cannot read published file", path) }
        let parent = Paths.dirname(resolved)
        guard stat(parent, &directory) == 0 else { throw UdockerError.posix("cannot read published file", parent) }
        if let problem = problem(file: file, directory: directory, directoryPath: parent) {
            let named = resolved == path ? path : "\(path) (\(resolved))"
            throw UdockerError(.permission, "refusing published file \(named): \(problem)")
        }
    }

    /// The same rule for a file already open (what is read is what was checked); `path` names it.
    static func check(descriptor fd: Int32, path: String) throws {
        var file = stat(), directory = stat()
        let parent = Paths.dirname(path)
        guard fstat(fd, &file) == 0, stat(parent, &directory) == 0 else { throw UdockerError.posix("cannot read published file", path) }
        if let problem = problem(file: file, directory: directory, directoryPath: parent) {
            throw UdockerError(.permission, "refusing published file \(path): \(problem)")
        }
    }

    static func problem(file: stat, directory: stat, directoryPath: String) -> String? {
        let me = geteuid()
        if file.st_mode & S_IFMT != S_IFREG { return "not a regular file (\(PrivateDirectory.describe(file)))" }
        if file.st_mode & 0o022 != 0 { return "writable by others (\(PrivateDirectory.describe(file)))" }
        if directory.st_mode & 0o022 != 0 && directory.st_mode & S_ISVTX == 0 {
            return "its directory \(directoryPath) is writable by others without the sticky bit (\(PrivateDirectory.describe(directory)))"
        }
        if ![me, 0, directory.st_uid].contains(file.st_uid) {
            return "owned by neither you, root nor the owner of \(directoryPath) (\(PrivateDirectory.describe(file)); "
                + "the directory's \(PrivateDirectory.describe(directory)))"
        }
        return nil
    }
}
