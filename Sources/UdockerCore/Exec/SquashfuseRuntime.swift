import CSquashfuse

/// libfuse3 and libsquashfuse_ll, loaded once per process before a SquashFS is served (see OnDemandLibrary).
enum SquashfuseRuntime {
    static let failure: UdockerError? =
        OnDemandLibrary.load("libsquashfuse_ll.so.0", neededFor: "mounting SquashFS images",
                             install: "squashfuse's and FUSE's libraries (Debian: libsquashfuse0 libfuse3-3)", ud_squashfuse_load)
}
