import Foundation

/// A directory of this user's inside a place other users can write too (/tmp, node-local scratch, `$TMPDIR`):
/// the stage area `<scratch>/udocker-<uid>`, R1's runtime directory `$TMPDIR/udocker-<uid>-runc`, a `--location`
/// run's state directory. Every such directory goes through here, so that the rule lives in one place:
///
/// - a missing one is created with mode 0700;
/// - an existing one is used only when `lstat` shows a directory (not a symlink) owned by this user that neither
///   group nor others can write;
/// - the place it lies in must not let others rename it away: writable by others only with the sticky bit.
///
/// A refusal happens before anything is created or written there (one line naming the path, its owner and mode).
/// Once a directory passes, only this user can change what is inside it, so its subdirectories need no more than
/// `subdirectory`.
public struct PrivateDirectory: Sendable {
    public let path: String

    /// Makes `path` (its parent must exist) or checks the existing one, as above.
    /// - `remedy`: what the refusal tells the user to do, e.g. "use another --scratch".
    public init(_ path: String, remedy: String = "remove it or use another directory") throws {
        let parent = Paths.dirname(path)
        var st = stat()
        guard stat(parent, &st) == 0 else { throw UdockerError.posix("cannot use", parent) }
        if st.st_mode & 0o022 != 0 && st.st_mode & S_ISVTX == 0 {
            throw UdockerError(.permission, "refusing \(path): its directory \(parent) is writable by others without the sticky bit "
                               + "(\(Self.describe(st))), so another user could replace it: \(remedy)")
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw UdockerError.posix("cannot create", path) }
        try Self.check(path, remedy: remedy)
        self.path = path
    }

    /// `name` inside this directory, made 0700 or checked by the same rule.
    public func subdirectory(_ name: String) throws -> PrivateDirectory {
        try PrivateDirectory(path + "/" + name)
    }

    /// A directory, not a symlink, owned by this user, not writable by group or others.
    private static func check(_ path: String, remedy: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw UdockerError.posix("cannot use", path) }
        let problem: String?
        switch true {
        case st.st_mode & S_IFMT == S_IFLNK: problem = "a symlink"
        case st.st_mode & S_IFMT != S_IFDIR: problem = "not a directory"
        case st.st_uid != geteuid(): problem = "not yours"
        case st.st_mode & 0o022 != 0: problem = "writable by others"
        default: problem = nil
        }
        if let problem {
            throw UdockerError(.permission, "refusing \(path): \(problem) (\(describe(st))); it must be a directory of yours "
                               + "that only you can write: \(remedy)")
        }
    }

    /// `owner uid 1001, mode 0777`.
    static func describe(_ st: stat) -> String {
        let owner = getpwuid(st.st_uid).map { String(cString: $0.pointee.pw_name) + " (uid \(st.st_uid))" } ?? "uid \(st.st_uid)"
        return "owner \(owner), mode " + String(format: "%04o", st.st_mode & 0o7777)
    }
}
