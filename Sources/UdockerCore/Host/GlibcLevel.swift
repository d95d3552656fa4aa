import Foundation

/// The glibc symbol-version level of a library: the highest `GLIBC_2.N` it defines (a libc) or needs
/// (anything else). Compared to decide whether a host library can be loaded by a container's libc.
public enum GlibcLevel {
    /// The highest GLIBC_2.N among version names (an ELF file's `versionsNeeded`); nil when there is none.
    public static func highest(ofVersions names: [String]) -> Int? {
        names.compactMap(minor).max()
    }

    /// N of "GLIBC_2.N" or "GLIBC_2.N.M"; nil for any other name. On bytes: a libc defines some forty versions.
    static func minor(_ name: String) -> Int? {
        let bytes = name.utf8
        guard bytes.starts(with: prefix) else { return nil }
        var minor = 0, digits = 0
        for byte in bytes.dropFirst(prefix.count) {
            guard (48...57).contains(byte), digits < 9 else { break }
            minor = minor * 10 + Int(byte - 48)
            digits += 1
        }
        return digits > 0 ? minor : nil
    }

    private static let prefix = Array("GLIBC_2.".utf8)

    /// The highest GLIBC_2.N `path` defines or needs, read from its version sections (a few preads, not the whole
    /// file); nil when it names none or is not a 64-bit little-endian ELF file.
    public static func highest(in path: String) -> Int? {
        guard let elf = ElfFile(path: path) else { return nil }
        return highest(ofVersions: elf.versionsDefined + elf.versionsNeeded)
    }

    /// The release of a libc.so.6 as its banner states it ("… stable release version 2.31."), which is not its
    /// highest symbol version (glibc 2.31 defines nothing newer than GLIBC_2.30). For messages; nil when absent.
    public static func release(of libc: String) -> String? {
        guard let data = FileManager.default.contents(atPath: libc),
              let marker = data.range(of: Data("release version ".utf8)) else { return nil }
        let version = data[marker.upperBound...].prefix { $0 == 46 || (48...57).contains($0) }
        let text = String(decoding: version, as: UTF8.self)
        return text.hasSuffix(".") ? String(text.dropLast()) : text
    }
}
