import Foundation

/// Descriptors above stderr that a container command will inherit (those without close-on-exec), such as
/// PMI_FD from a process manager. runc passes on only a contiguous range from 3 (`--preserve-fds N`), and
/// fails if any of them is not open, so N counts the unbroken run of inheritable descriptors from 3.
public enum OpenDescriptors {
    public static func inheritableCount() -> Int {
        var count = 0
        while true {
            let flags = fcntl(Int32(3 + count), F_GETFD)
            guard flags >= 0, flags & FD_CLOEXEC == 0 else { return count }
            count += 1
        }
    }
}
