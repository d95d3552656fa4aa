import Foundation

/// Descriptors above stderr that a container command will inherit (those without close-on-exec), such as
/// PMI_FD from a process manager. runc passes on only a contiguous range from 3 (`--preserve-fds N`).
public enum OpenDescriptors {
    /// N such that fds 3 ..< 3+N cover every inheritable descriptor.
    public static func inheritableCount() -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return 0 }
        var highest = 2
        for name in names {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 { highest = max(highest, Int(fd)) }
        }
        return highest - 2
    }
}
