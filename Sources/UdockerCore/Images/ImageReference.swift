import Foundation

/// A local image name as udocker keeps it: `NAME[:TAG]` or `NAME@sha256:HEX`, where NAME may start with a
/// registry host (`quay.io/org/img`, `127.0.0.1:5000/img`). The name is the directory under `repos/`;
/// a digest reference is stored under a tag directory named by the digest, as udocker does.
public struct ImageReference: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var tag: String

    public init(name: String, tag: String) {
        self.name = name
        self.tag = tag
    }

    public static let defaultTag = "latest"

    public static func parse(_ text: String) throws -> ImageReference {
        var name = text
        var tag = defaultTag
        if let at = text.firstIndex(of: "@") {
            name = String(text[..<at])
            tag = String(text[text.index(after: at)...])
            guard Digest.isValid(tag) else { throw UdockerError(.invalidInput, "invalid image digest: \(text)") }
        } else if let colon = text.lastIndex(of: ":"), !text[colon...].contains("/") {
            name = String(text[..<colon])
            tag = String(text[text.index(after: colon)...])
        }
        guard isValidName(name) else { throw UdockerError(.invalidInput, "invalid image name: \(text)") }
        guard tag.hasPrefix("sha256:") || isValidTag(tag) else { throw UdockerError(.invalidInput, "invalid image tag: \(text)") }
        return ImageReference(name: name, tag: tag)
    }

    /// Repository names: path components of [a-z0-9._-], the first may be a host[:port]. No `..`, no empty parts.
    static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, name.count <= 255, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return false }
        for (index, part) in parts.enumerated() {
            let allowed: (Character) -> Bool = index == 0
                ? { $0.isLetter || $0.isNumber || "._-:".contains($0) }
                : { ($0.isLowercase || $0.isNumber || "._-".contains($0)) && $0.isASCII }
            guard part.allSatisfy(allowed) else { return false }
        }
        return true
    }

    static func isValidTag(_ tag: String) -> Bool {
        guard let first = tag.first, first != ".", first != "-", tag.count <= 128 else { return false }
        return tag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    public var description: String { tag.hasPrefix("sha256:") ? "\(name)@\(tag)" : "\(name):\(tag)" }
}
