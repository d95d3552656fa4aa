import Foundation

/// U1 on a launcher stage or a mounted image: both are read-only to the jobs that run from them, so each namespace
/// lays a writable layer over ROOT (unprivileged overlayfs, Linux 5.11 and later): lower the stage's ROOT or the
/// image, upper and work
/// directories in a tmpfs mounted on `layer` inside the namespace. What a job writes outside its volumes (its
/// /tmp, the mount points of its binds, a file deleted as uid 0) lands in that tmpfs and nobody else sees it; it
/// goes when the namespace does — with the rank, or with the step's last rank where they share one
/// (SharedNamespace) — even after SIGKILL, so there is nothing to clean up.
enum WritableLayer {
    /// In the new mount namespace, before the binds: `lower` (ROOT itself, or a mounted image) seen at ROOT
    /// through the layer. False when the kernel cannot mount the overlay; the caller
    /// then binds ROOT read-only instead (`UserNamespace.prepareRoot`).
    static func mount(_ lower: String, at root: String, in layer: String) throws -> Bool {
        // overlayfs options are split at commas and colons.
        guard !(lower + root + layer).contains(where: { ",:\\".contains($0) }) else { return false }
        guard mkdir(layer, 0o700) == 0 || errno == EEXIST else { throw UdockerError.posix("U1: cannot create", layer) }
        guard mountFileSystem("tmpfs", at: layer, flags: UInt(MS_NOSUID | MS_NODEV), options: "mode=0700") else {
            throw UdockerError.posix("U1: cannot mount a tmpfs on", layer)
        }
        var st = stat()
        guard stat(lower, &st) == 0, mkdir(layer + "/upper", 0o700) == 0, mkdir(layer + "/work", 0o700) == 0 else {
            throw UdockerError.posix("U1: cannot prepare the writable layer in", layer)
        }
        // The merged ROOT directory takes the upper directory's mode: the stage's own.
        chmod(layer + "/upper", st.st_mode & 0o7777)
        let options = "lowerdir=\(lower),upperdir=\(layer)/upper,workdir=\(layer)/work,userxattr"
        if mountFileSystem("overlay", at: root, flags: 0, options: options) { return true }
        umount2(layer, Int32(MNT_DETACH))
        return false
    }

    /// statfs's f_type of an overlay.
    static let overlayType = 0x794C_7630

    static func mountFileSystem(_ type: String, at target: String, flags: UInt, options: String) -> Bool {
        options.withCString { Glibc.mount(type, target, type, flags, $0) } == 0
    }
}
