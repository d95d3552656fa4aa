import Foundation

/// The host's ldconfig cache (/etc/ld.so.cache): which file the dynamic loader resolves each soname to.
/// Read directly, in glibc's current format ("glibc-ld.so.cache1.1", the only one glibc ≥ 2.32 writes) and the
/// old one ("ld.so-1.7.0", alone or followed by the new one); `ldconfig -p` is the fallback for anything else.
public enum LdCache {
    public struct Entry: Sendable, Equatable {
        /// The soname the loader looks up, e.g. libcuda.so.1.
        public var soname: String
        /// The path the cache resolves it to (as ldconfig wrote it: usually the soname link).
        public var path: String
        public init(soname: String, path: String) { self.soname = soname; self.path = path }
    }

    /// The entries of `file`, in the cache's order; nil when it is missing or in no format known here.
    public static func read(_ file: String) -> [Entry]? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        return parse([UInt8](data))
    }

    /// The entries of the cache `file`, else of `ldconfig -p` (which reads the host's own cache), else none.
    public static func entries(file: String, ldconfig: String?) -> [Entry] {
        if let entries = read(file) { return entries }
        guard let ldconfig, let result = try? Subprocess.run([ldconfig, "-p"], environment: []), result.succeeded else { return [] }
        return parse(ldconfigOutput: result.output)
    }

    static let newMagic = Array("glibc-ld.so.cache1.1".utf8)
    static let oldMagic = Array("ld.so-1.7.0".utf8)

    public static func parse(_ bytes: [UInt8]) -> [Entry]? {
        if bytes.starts(with: newMagic) { return parseNew(bytes, at: 0) }
        guard bytes.starts(with: oldMagic), bytes.count >= 16 else { return nil }
        // Old header: magic padded to 12 bytes, nlibs; entries of (flags, key, value) as 32-bit words; string
        // offsets count from the end of the entries. A new-format cache may follow, 8-byte aligned: prefer it.
        let count = Int(u32(bytes, 12))
        let stringsStart = 16 + count * 12
        guard count >= 0, stringsStart <= bytes.count else { return nil }
        let newStart = (stringsStart + 7) & ~7
        if bytes.count > newStart, Array(bytes[newStart...]).starts(with: newMagic) { return parseNew(bytes, at: newStart) }
        return (0..<count).compactMap { i in
            let entry = 16 + i * 12
            return makeEntry(bytes, key: stringsStart + Int(u32(bytes, entry + 4)), value: stringsStart + Int(u32(bytes, entry + 8)))
        }
    }

    /// New format: a 48-byte header (magic+version, nlibs, string table length, flags, extension offset), then
    /// 24-byte entries (flags, key, value, osversion, hwcap); string offsets count from the header's start.
    private static func parseNew(_ bytes: [UInt8], at start: Int) -> [Entry]? {
        guard bytes.count >= start + 48 else { return nil }
        let count = Int(u32(bytes, start + 20))
        guard start + 48 + count * 24 <= bytes.count else { return nil }
        return (0..<count).compactMap { i in
            let entry = start + 48 + i * 24
            return makeEntry(bytes, key: start + Int(u32(bytes, entry + 4)), value: start + Int(u32(bytes, entry + 8)))
        }
    }

    private static func makeEntry(_ bytes: [UInt8], key: Int, value: Int) -> Entry? {
        guard let soname = cString(bytes, key), let path = cString(bytes, value), path.hasPrefix("/") else { return nil }
        return Entry(soname: soname, path: path)
    }

    /// Lines such as `\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1`.
    public static func parse(ldconfigOutput: String) -> [Entry] {
        ldconfigOutput.split(separator: "\n").compactMap { line in
            guard let arrow = line.range(of: " => ") else { return nil }
            let soname = line[..<arrow.lowerBound].trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init)
            let path = line[arrow.upperBound...].trimmingCharacters(in: .whitespaces)
            guard let soname, path.hasPrefix("/") else { return nil }
            return Entry(soname: soname, path: path)
        }
    }

    /// The cache is written in the host's byte order; every host udocker runs on is little-endian.
    private static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        guard offset >= 0, offset + 4 <= bytes.count else { return 0 }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    private static func cString(_ bytes: [UInt8], _ offset: Int) -> String? {
        guard offset >= 0, offset < bytes.count else { return nil }
        let end = bytes[offset...].firstIndex(of: 0) ?? bytes.count
        return end > offset ? String(decoding: bytes[offset..<end], as: UTF8.self) : nil
    }
}
