/// An ordered KEY=VALUE list where setting a key replaces its earlier value (as udocker's env handling does).
public struct EnvironmentList: Sendable, Equatable {
    public private(set) var entries: [String] = []

    public init(_ entries: [String] = []) { for entry in entries { set(entry) } }

    public static func key(of entry: String) -> String {
        entry.firstIndex(of: "=").map { String(entry[..<$0]) } ?? entry
    }

    public func value(_ key: String) -> String? {
        entries.last { Self.key(of: $0) == key }.map { String($0.dropFirst(key.count + 1)) }
    }

    public mutating func set(_ entry: String) {
        let key = Self.key(of: entry)
        entries.removeAll { Self.key(of: $0) == key }
        entries.append(entry)
    }

    public mutating func set(_ key: String, _ value: String) { set(key + "=" + value) }

    /// Sets only when the key is absent (udocker's appendif).
    public mutating func setIfAbsent(_ key: String, _ value: String) {
        if self.value(key) == nil { set(key, value) }
    }
}
