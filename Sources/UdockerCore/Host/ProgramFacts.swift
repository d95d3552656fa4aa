import Foundation

/// What a host program tells about itself when it is run (proot's `--help`), remembered so that `run` does not
/// spawn it on every start. The answers live in one small file, one line each, keyed by the program's identity:
/// its path and the device, inode, size, modification and change times of the file it leads to. A program that
/// is replaced or upgraded, or seen from another host sharing the file (another device or inode), is asked again.
/// The file is rewritten whole under a temporary name and renamed into place, so ranks starting at once each
/// write a complete file and the last one wins; a line that does not parse is ignored, an unreadable or
/// unwritable file means asking every time.
public struct ProgramFacts: Sendable {
    public var file: String

    public init(file: String) { self.file = file }

    /// Answers kept; the most recently learnt first, the oldest dropped.
    static let capacity = 16

    /// The answer about `program`: the remembered one while the program is the same file, else `learn()`'s
    /// (remembered unless nil or more than one line).
    public func fact(about program: String, learn: () -> String?) -> String? {
        guard let key = Self.identity(of: program) else { return learn() }
        let entries = self.entries()
        if let known = entries.first(where: { $0.key == key }) { return known.value }
        guard let value = learn() else { return nil }
        if !value.contains("\n") {
            let kept = [(key: key, value: value)] + entries.filter { $0.key != key }.prefix(Self.capacity - 1)
            try? FileSystem.atomicWrite(kept.map { $0.key + "\t" + $0.value + "\n" }.joined(), to: file)
        }
        return value
    }

    /// "PATH\tDEV\tINODE\tSIZE\tMTIME\tCTIME" (times in nanoseconds); nil when the program cannot be stat'ed or
    /// its path would not fit on one line.
    static func identity(of program: String) -> String? {
        var st = stat()
        guard !program.contains("\t"), !program.contains("\n"), stat(program, &st) == 0 else { return nil }
        func nanoseconds(_ time: timespec) -> String { String(Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)) }
        return [program, String(st.st_dev), String(st.st_ino), String(st.st_size), nanoseconds(st.st_mtim), nanoseconds(st.st_ctim)]
            .joined(separator: "\t")
    }

    func entries() -> [(key: String, value: String)] {
        guard let data = try? FileSystem.read(file) else { return [] }
        // On bytes: this runs on every P-mode start.
        return [UInt8](data).split(separator: UInt8(ascii: "\n")).compactMap { line in
            // The key is the first six tab-separated fields, the answer the rest.
            let tabs = line.indices.filter { line[$0] == UInt8(ascii: "\t") }
            guard tabs.count >= 6 else { return nil }
            let end = tabs[5]
            return (String(decoding: line[..<end], as: UTF8.self), String(decoding: line[(end + 1)...], as: UTF8.self))
        }
    }
}
