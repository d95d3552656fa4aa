import CSquashfuse
import Foundation

/// A SquashFS image mounted read-only with FUSE inside a user + mount namespace of ours, served by a thread of
/// the process that mounted it through libsquashfuse_ll (as Charliecloud's ch-run does): no squashfuse program
/// and no setuid fusermount3. The namespace's keeper (SharedNamespace) mounts it, so one server answers every
/// rank of a node and step, and it ends with the keeper: when the last rank has exited, the keeper exits, and
/// the mount and its namespace go with it.
public enum SquashMount {
    /// nil when this process could mount a SquashFS with FUSE in a user namespace; otherwise why not, in one
    /// line a caller can print (`--dry-run`, `info`).
    public static func availability() -> String? {
        if access("/dev/fuse", F_OK) != 0 { return "/dev/fuse is missing (this kernel offers no FUSE here)" }
        if access("/dev/fuse", R_OK | W_OK) != 0 { return "/dev/fuse is not readable and writable by you" }
        return SquashfuseRuntime.failure?.message
    }

    /// Mounts `image` at `directory` and answers its requests from a new thread until the process exits. Call
    /// it in a mount namespace of our own, where we hold CAP_SYS_ADMIN (UserNamespace.create), and only from a
    /// process that lives as long as the mount is used: execve ends the thread, and the mount would hang.
    static func serve(_ image: String, at directory: String) throws {
        if let reason = availability() { throw UdockerError(.unsupported, "U1: cannot mount \(image): \(reason)") }
        guard let filesystem = sqfs_ll_open(image, 0) else {
            throw UdockerError(.invalidInput, "U1: \(image) is not a SquashFS image squashfuse can read")
        }
        // Files shown as the caller's, as in the tree `create` extracts as the user (see session.c for why).
        guard let session = ud_squashfuse_session(filesystem, getuid(), getgid()) else {
            throw UdockerError(.internalError, "U1: libfuse cannot start a session for \(image)")
        }
        var st = stat()
        guard stat(directory, &st) == 0 else { throw UdockerError.posix("U1: cannot stat", directory) }
        let device = open("/dev/fuse", O_RDWR | O_CLOEXEC)
        guard device >= 0 else { throw UdockerError.posix("U1: cannot open", "/dev/fuse") }
        // Mounted here rather than by fuse_session_mount, which would fall back to fusermount3 on a refusal;
        // libfuse then takes the mounted descriptor as the mount point /dev/fd/N. user_id/group_id are the ids
        // the kernel lets in (ours, as the namespace maps them).
        let options = "fd=\(device),rootmode=\(String(st.st_mode & S_IFMT, radix: 8)),user_id=\(getuid()),group_id=\(getgid())"
        let flags = UInt(MS_RDONLY | MS_NOSUID | MS_NODEV)
        guard options.withCString({ mount(image, directory, "fuse.squashfuse", flags, $0) }) == 0 else {
            let error = UdockerError.posix("U1: cannot mount \(image) with FUSE at", directory)
            close(device)
            throw error
        }
        guard fuse_session_mount(session, "/dev/fd/\(device)") == 0 else {
            throw UdockerError(.internalError, "U1: libfuse cannot take over the FUSE mount at \(directory)")
        }
        let failed = ud_squashfuse_serve_in_background(session)
        guard failed == 0 else {
            throw UdockerError(.internalError, "U1: cannot start the FUSE server thread: \(String(cString: strerror(failed)))")
        }
    }
}
