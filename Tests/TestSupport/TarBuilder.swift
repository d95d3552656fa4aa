import Foundation

/// Writes small POSIX (ustar) tar archives in memory, for layers no tool writes the way a test needs
/// (opaque-directory markers, thousands of files) and for deliberately broken archives.
public struct TarBuilder: Sendable {
    public private(set) var data = Data()

    public init() {}

    public mutating func directory(_ path: String, mode: Int = 0o755) {
        header(path.hasSuffix("/") ? path : path + "/", mode: mode, size: 0, type: "5")
    }

    public mutating func file(_ path: String, _ contents: String, mode: Int = 0o644) {
        file(path, Data(contents.utf8), mode: mode)
    }

    public mutating func file(_ path: String, _ contents: Data, mode: Int = 0o644) {
        header(path, mode: mode, size: contents.count, type: "0")
        data.append(contents)
        data.append(Data(count: (512 - contents.count % 512) % 512))
    }

    public mutating func symlink(_ path: String, to target: String) {
        header(path, mode: 0o777, size: 0, type: "2", linkName: target)
    }

    /// The archive with its end-of-archive marker (two zero blocks).
    public var archive: Data { data + Data(count: 1024) }

    private mutating func header(_ name: String, mode: Int, size: Int, type: Character, linkName: String = "") {
        precondition(name.utf8.count <= 100 && linkName.utf8.count <= 100, "TarBuilder keeps names under 100 bytes")
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) {
            for (i, byte) in text.utf8.enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            put(String(String(value, radix: 8).suffix(width - 1)).leftPadded(to: width - 1), at: offset)
        }
        put(name, at: 0)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(1_700_000_000, at: 136, width: 12)
        put(String(type), at: 156)
        put(linkName, at: 157)
        put("ustar\u{0}00", at: 257)
        put("root", at: 265)
        put("root", at: 297)
        put("        ", at: 148)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(String(sum, radix: 8)).leftPadded(to: 6) + "\u{0} ", at: 148)
        data.append(contentsOf: block)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
