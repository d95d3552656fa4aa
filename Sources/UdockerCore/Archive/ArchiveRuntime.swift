import CArchive

/// libarchive, loaded once per process before the first archive handle (see OnDemandLibrary).
enum ArchiveRuntime {
    static func load() throws { if let failure { throw failure } }

    private static let failure: UdockerError? =
        OnDemandLibrary.load("libarchive.so.13", neededFor: "reading and writing tar archives", install: "libarchive 3 (Debian: libarchive13)",
                             ud_archive_load)
}
