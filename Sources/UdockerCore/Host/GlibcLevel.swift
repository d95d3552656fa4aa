import Foundation

/// The glibc symbol-version level of a library: the highest `GLIBC_2.N` it defines (a libc) or needs
/// (anything else). Compared to decide whether a host library can be loaded by a container's libc.
public enum GlibcLevel {
    /// The highest GLIBC_2.N among version names (an ELF file's `versionsNeeded`); nil when there is none.
    public static func highest(ofVersions names: [String]) -> Int? {
        names.compactMap { name -> Int? in
            guard name.hasPrefix("GLIBC_2.") else { return nil }
            return Int(name.dropFirst(8).prefix { $0.isNumber })
        }.max()
    }

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
