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

    /// Docker's reference grammar (distribution/reference), which docker applies to every name it loads or tags:
    ///
    ///     name      := [domain "/"] component ("/" component)*          at most 255 characters in all
    ///     domain    := host [":" digits]      host := label ("." label)* | "[" IPv6 "]"
    ///     label     := [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]
    ///     component := [a-z0-9]+ (separator [a-z0-9]+)*                separator := "." | "_" | "__" | "-"+
    ///
    /// The first part is a domain when more follow and it has a `.` or `:`, is `localhost`, or has an uppercase
    /// letter. Nothing else can become a directory under repos/: no hidden name, no `..`, no empty part.
    static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        var parts = name.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count > 1, isDomain(parts[0]) {
            guard isValidDomain(parts.removeFirst()) else { return false }
        }
        return parts.allSatisfy(isValidComponent)
    }

    private static func isDomain(_ part: Substring) -> Bool {
        part.contains(".") || part.contains(":") || part == "localhost" || part.contains(where: \.isUppercase)
    }

    private static func isValidDomain(_ domain: Substring) -> Bool {
        var host = domain, port: Substring?
        if domain.hasPrefix("[") {
            guard let close = domain.firstIndex(of: "]") else { return false }
            let address = domain[domain.index(after: domain.startIndex)..<close]
            guard !address.isEmpty, address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
            host = "[]"
            let rest = domain[domain.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return false }
                port = rest.dropFirst()
            }
        } else if let colon = domain.lastIndex(of: ":") {
            host = domain[..<colon]
            port = domain[domain.index(after: colon)...]
        }
        if let port, port.isEmpty || !port.allSatisfy({ $0.isASCII && $0.isNumber }) { return false }
        guard host != "[]" else { return true }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            func alnum(_ byte: UInt8) -> Bool { (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) }
            guard let first = bytes.first, let last = bytes.last, alnum(first), alnum(last) else { return false }
            return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// `[a-z0-9]+` runs joined by one separator each: `.`, `_`, `__` or any number of `-`.
    private static func isValidComponent(_ part: Substring) -> Bool {
        let bytes = Array(part.utf8)
        func alnum(_ index: Int) -> Bool { index < bytes.count && ((48...57).contains(bytes[index]) || (97...122).contains(bytes[index])) }
        guard alnum(0) else { return false }
        var index = 0
        while index < bytes.count {
            if alnum(index) { index += 1; continue }
            switch bytes[index] {
            case UInt8(ascii: "-"): while index < bytes.count && bytes[index] == UInt8(ascii: "-") { index += 1 }
            case UInt8(ascii: "_"): index += bytes.dropFirst(index + 1).first == UInt8(ascii: "_") ? 2 : 1
            case UInt8(ascii: "."): index += 1
            default: return false
            }
            guard alnum(index) else { return false }
        }
        return true
    }

    static func isValidTag(_ tag: String) -> Bool {
        guard let first = tag.first, first != ".", first != "-", tag.count <= 128 else { return false }
        return tag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    public var description: String { tag.hasPrefix("sha256:") ? "\(name)@\(tag)" : "\(name):\(tag)" }
}
