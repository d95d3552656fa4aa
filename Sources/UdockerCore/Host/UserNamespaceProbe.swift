import Foundation

/// Whether this user may create a user namespace here (U1's requirement). Asked of the kernel, not of sysctl
/// files whose names differ between distributions: a child process tries unshare(CLONE_NEWUSER) and reports.
public enum UserNamespaceProbe {
    /// nil when it works, else why not.
    public static func failure() -> String? {
        let pid = fork()
        guard pid >= 0 else { return "cannot fork to probe: \(String(cString: strerror(errno)))" }
        if pid == 0 { _exit(LinuxCalls.unshare(LinuxCalls.cloneNewUser) == 0 ? 0 : errno) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status >> 8) & 0xff
        return status & 0x7f == 0 && code == 0 ? nil : "unprivileged user namespaces are not available (unshare: \(String(cString: strerror(code))))"
    }
}
