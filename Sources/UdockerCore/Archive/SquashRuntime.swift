import CSquashfs

/// libsquashfs, loaded once per process before the first SquashFS is built or read (see OnDemandLibrary).
enum SquashRuntime {
    static func load() throws { if let failure { throw failure } }

    private static let failure: UdockerError? =
        OnDemandLibrary.load("libsquashfs.so.1", neededFor: "building and reading SquashFS images",
                             install: "squashfs-tools-ng's library (Debian: libsquashfs1)", ud_squashfs_load)

    /// A libsquashfs call's result as an error: its functions return 0 or a negative SQFS_ERROR code.
    static func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else { throw UdockerError(.io, "libsquashfs: cannot \(what) (error \(status))") }
    }
}
