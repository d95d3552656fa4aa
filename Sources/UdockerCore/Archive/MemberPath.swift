import Foundation

/// An archive member name reduced to its components, relative to the extraction root. `.` and empty
/// components are dropped (`./etc//passwd` is `etc/passwd`); an absolute name or a `..` component is refused,
/// as GNU tar refuses them: no image layer needs either, and both are the classic ways out of the root.
/// Components are raw bytes, each NUL-terminated so that it can be handed to the *at() system calls directly.
struct MemberPath {
    let components: [[CChar]]

    init(components: [[CChar]]) { self.components = components }

    /// Parses a raw NUL-terminated member name.
    init(member name: [CChar]) throws {
        let bytes = name.prefix(while: { $0 != 0 })
        if bytes.first == CChar(UInt8(ascii: "/")) {
            throw UdockerError(.invalidInput, "absolute path \(String(nulTerminated: name)) would leave the root directory")
        }
        var parts: [[CChar]] = []
        for part in bytes.split(separator: CChar(UInt8(ascii: "/")), omittingEmptySubsequences: true) {
            if part.count == 1 && part.first == Self.dot { continue }
            if part.count == 2 && part.allSatisfy({ $0 == Self.dot }) {
                throw UdockerError(.invalidInput, "path \(String(nulTerminated: name)) has a .. component that would leave the root directory")
            }
            parts.append(Array(part) + [0])
        }
        components = parts
    }

    private static let dot = CChar(UInt8(ascii: "."))

    var isRoot: Bool { components.isEmpty }
    /// The last component (NUL-terminated). Only valid when `!isRoot`.
    var name: [CChar] { components[components.count - 1] }
    var parent: MemberPath { MemberPath(components: Array(components.dropLast())) }

    func appending(_ component: [CChar]) -> MemberPath { MemberPath(components: components + [component]) }

    /// `a/b/c` as bytes without a terminator: the key under which whiteout bookkeeping remembers a path.
    var key: [UInt8] { Self.key(components[...]) }

    static func key(_ parts: ArraySlice<[CChar]>) -> [UInt8] {
        var bytes: [UInt8] = []
        for (index, part) in parts.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: "/")) }
            bytes.append(contentsOf: part.dropLast().map { UInt8(bitPattern: $0) })
        }
        return bytes
    }

    var display: String { String(decoding: key, as: UTF8.self) }

    /// True when the last component starts with `prefix`.
    func nameHasPrefix(_ prefix: String) -> Bool {
        guard !isRoot else { return false }
        let bytes = name.dropLast().map { UInt8(bitPattern: $0) }
        return bytes.starts(with: prefix.utf8)
    }
}

extension Array where Element == CChar {
    /// A NUL-terminated component from a Swift string (used for literals such as whiteout names).
    init(component text: Substring) { self = Array(String(text).utf8CString) }
}
