import Foundation

/// What a `.wh.` member of an image layer asks for (the OCI image spec's whiteouts). Shared by the extraction
/// into a directory (`ArchiveExtraction`) and the SquashFS build (`SquashLayerMerge`), so that both apply the
/// same rules.
enum LayerWhiteout {
    /// `.wh..wh..opq`: the directory keeps only what this layer writes into it.
    case opaque
    /// `.wh.NAME`: NAME (the component given, NUL-terminated) of the lower layers is removed.
    case hides([CChar])
    /// Other `.wh..wh.` names (aufs bookkeeping: .wh..wh.plnk, .wh..wh.aufs) and a bare `.wh.`: nothing to apply.
    case nothing

    static let prefix = ".wh."
    private static let opaqueMarker = Array(".wh..wh..opq".utf8CString)

    /// The whiteout `path` names, or nil when its last component is an ordinary name. A whiteout of `.` or `..`
    /// is refused: it would remove the directory itself or its parent.
    init?(_ path: MemberPath) throws {
        guard path.nameHasPrefix(Self.prefix) else { return nil }
        if path.name == Self.opaqueMarker {
            self = .opaque
            return
        }
        if path.nameHasPrefix(".wh..wh.") {
            self = .nothing
            return
        }
        let hidden = Array(path.name.dropFirst(Self.prefix.utf8.count))
        let hiddenText = String(nulTerminated: hidden)
        guard hiddenText != "." && hiddenText != ".." else {
            throw UdockerError(.invalidInput, "whiteout of \(hiddenText) would leave the root directory")
        }
        self = hidden.count <= 1 ? .nothing : .hides(hidden)
    }
}
