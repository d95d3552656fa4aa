/// A C library opened with dlopen the first time a command needs it (libcurl, libarchive; see the CCurl and
/// CArchive targets): commands that never use it start without loading it, and run on a host that lacks it.
enum OnDemandLibrary {
    /// Calls `load` (a C target's ud_*_load) and turns its failure into a one-line error that names the library
    /// and what needs it.
    static func load(_ soname: String, neededFor purpose: String, install: String,
                     _ load: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> UdockerError? {
        var reason = [CChar](repeating: 0, count: 512)
        guard load(&reason, reason.count) != 0 else { return nil }
        let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return UdockerError(.notFound, "\(soname) cannot be loaded (\(text)): \(purpose) needs it; install \(install)")
    }
}
