/// An ordered KEY=VALUE list where setting a key replaces its earlier value (as udocker's env handling does).
public struct EnvironmentList: Sendable, Equatable {
    public private(set) var entries: [String] = []

    public init(_ entries: [String] = []) { for entry in entries { set(entry) } }

    public static func key(of entry: String) -> String {
        entry.utf8.firstIndex(of: equals).map { String(entry[..<$0]) } ?? entry
    }

    public func value(_ key: String) -> String? {
        entries.last { Self.entry($0, hasKey: key) }.map { String(decoding: $0.utf8.dropFirst(key.utf8.count + 1), as: UTF8.self) }
    }

    public mutating func set(_ entry: String) {
        let key = Self.key(of: entry)
        entries.removeAll { Self.entry($0, hasKey: key) }
        entries.append(entry)
    }

    // Byte comparisons: every run builds lists of a few dozen entries several times, and Character-wise
    // searching made that quadratic work cost as much as reading the image's metadata.
    private static let equals = UInt8(ascii: "=")

    /// Whether `entry` is `key=…`, or just `key`.
    private static func entry(_ entry: String, hasKey key: String) -> Bool {
        var bytes = entry.utf8.makeIterator()
        for byte in key.utf8 {
            if bytes.next() != byte { return false }
        }
        let next = bytes.next()
        return next == nil || next == equals
    }

    public mutating func set(_ key: String, _ value: String) { set(key + "=" + value) }

    /// Sets only when the key is absent (udocker's appendif).
    public mutating func setIfAbsent(_ key: String, _ value: String) {
        if self.value(key) == nil { set(key, value) }
    }
}
