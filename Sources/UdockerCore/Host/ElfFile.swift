import Foundation

/// What the engines need to know about an ELF file without running it: whether it is dynamically linked, its
/// program interpreter (PT_INTERP), its library search path (DT_RPATH / DT_RUNPATH), its soname (DT_SONAME), the
/// libraries it needs (DT_NEEDED) and the symbol versions it needs from them (DT_VERNEED: GLIBC_2.34, …).
/// Only 64-bit little-endian files are understood (x86_64, aarch64, ppc64le); others read as "not ELF"
/// (`ElfIdentity` tells any ELF file's class and machine).
public struct ElfFile: Sendable, Equatable {
    public enum SearchPathKind: String, Sendable { case rpath, runpath }

    public var interpreter: String?
    /// Where the PT_INTERP string lies in the file and the room it has (terminating NUL included).
    public struct Slot: Sendable, Equatable { public var offset: Int; public var size: Int }
    public var interpreterSlot: Slot?
    public var isDynamic: Bool
    public var searchPath: String?
    public var searchPathKind: SearchPathKind?
    public var soname: String?
    /// DT_NEEDED, in order.
    public var needed: [String] = []
    /// The version names of DT_VERNEED (GLIBC_2.34, GLIBCXX_3.4.29, …), as required of any library.
    public var versionsNeeded: [String] = []

    /// nil when `path` is not a readable 64-bit little-endian ELF file.
    public init?(path: String) {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        guard let magic = try? file.read(upToCount: 4), magic == Data([0x7f, 0x45, 0x4c, 0x46]) else { return nil }
        try? file.seek(toOffset: 0)
        guard let head = try? file.read(upToCount: Self.headSize) else { return nil }
        self.init(head: [UInt8](head)) { offset, count in
            // The dynamic section of a large library may lie far beyond the head (libmpich's at 41 MB).
            guard (try? file.seek(toOffset: UInt64(offset))) != nil, let data = try? file.read(upToCount: count) else { return [] }
            return [UInt8](data)
        }
    }

    /// Headers and program headers sit in the first pages of every ELF file; `more` reads what lies beyond.
    static let headSize = 1 << 16

    private init?(head bytes: [UInt8], more: (_ offset: Int, _ count: Int) -> [UInt8]) {
        guard bytes.count >= 64, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46,
              bytes[4] == 2, bytes[5] == 1 else { return nil }
        /// `count` bytes at `offset` of the file, from the head when they lie in it.
        func read(_ offset: Int, _ count: Int) -> [UInt8] {
            guard offset >= 0, count > 0 else { return [] }
            if offset + count <= bytes.count { return Array(bytes[offset..<(offset + count)]) }
            return more(offset, count)
        }
        let phoff = Self.u64(bytes, 32), phentsize = Self.u16(bytes, 54), phnum = Self.u16(bytes, 56)
        var interpreter: String?
        var interpreterSlot: Slot?
        var dynamic: (offset: Int, size: Int)?
        var loads: [(vaddr: Int, offset: Int, size: Int)] = []
        for i in 0..<phnum {
            let ph = phoff + i * phentsize
            guard ph + 56 <= bytes.count else { return nil }
            let type = Int(bytes[ph]) | Int(bytes[ph + 1]) << 8 | Int(bytes[ph + 2]) << 16 | Int(bytes[ph + 3]) << 24
            let offset = Self.u64(bytes, ph + 8), vaddr = Self.u64(bytes, ph + 16), fileSize = Self.u64(bytes, ph + 32)
            switch type {
            case 1: loads.append((vaddr, offset, fileSize))
            case 2: dynamic = (offset, fileSize)
            case 3:
                interpreter = Self.cString(read(offset, min(fileSize, 4096)), at: 0, limit: fileSize)
                interpreterSlot = Slot(offset: offset, size: fileSize)
            default: break
            }
        }
        self.interpreter = interpreter
        self.interpreterSlot = interpreterSlot
        self.isDynamic = dynamic != nil
        guard let dynamic else { return }
        // Walk the dynamic section for the string table and the offsets into it, and the version needs.
        let section = read(dynamic.offset, min(dynamic.size, 1 << 16))
        var strtab = 0, strsz = 0, rpath: Int?, runpath: Int?, soname: Int?, needed: [Int] = []
        var verneed = 0, verneedCount = 0
        var entry = 0
        while entry + 16 <= section.count {
            let tag = Self.u64(section, entry), value = Self.u64(section, entry + 8)
            if tag == 0 { break }
            switch tag {
            case 1: needed.append(value)
            case 5: strtab = value
            case 10: strsz = value
            case 14: soname = value
            case 15: rpath = value
            case 29: runpath = value
            case 0x6fff_fffe: verneed = value
            case 0x6fff_ffff: verneedCount = value
            default: break
            }
            entry += 16
        }
        /// A virtual address's offset in the file.
        func fileOffset(_ address: Int) -> Int? {
            loads.first { address >= $0.vaddr && address < $0.vaddr + $0.size }.map { address - $0.vaddr + $0.offset }
        }
        guard let strings = fileOffset(strtab) else { return }
        let table = read(strings, strsz > 0 ? min(strsz, 1 << 22) : 1 << 16)
        func string(_ offset: Int) -> String? { Self.cString(table, at: offset, limit: 4096) }
        self.soname = soname.flatMap(string)
        self.needed = needed.compactMap(string)
        if verneedCount > 0, let start = fileOffset(verneed) {
            // Elf64_Verneed (vn_cnt at 2, vn_aux at 8, vn_next at 12) each followed by Elf64_Vernaux entries
            // (vna_name at 8, vna_next at 12).
            let block = read(start, 1 << 14)
            var need = 0
            for _ in 0..<min(verneedCount, 64) {
                guard need + 16 <= block.count else { break }
                var aux = need + Int(Self.u32(block, need + 8))
                for _ in 0..<min(Self.u16(block, need + 2), 256) {
                    guard aux + 16 <= block.count else { break }
                    if let name = string(Int(Self.u32(block, aux + 8))) { versionsNeeded.append(name) }
                    let next = Int(Self.u32(block, aux + 12))
                    if next == 0 { break }
                    aux += next
                }
                let next = Int(Self.u32(block, need + 12))
                if next == 0 { break }
                need += next
            }
        }
        guard let stringOffset = runpath ?? rpath else { return }
        searchPath = string(stringOffset)
        searchPathKind = runpath != nil ? .runpath : .rpath
    }

    private static func u16(_ bytes: [UInt8], _ o: Int) -> Int { o >= 0 && o + 2 <= bytes.count ? Int(bytes[o]) | Int(bytes[o + 1]) << 8 : 0 }
    private static func u32(_ bytes: [UInt8], _ o: Int) -> UInt32 {
        guard o >= 0, o + 4 <= bytes.count else { return 0 }
        return UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
    }
    private static func u64(_ bytes: [UInt8], _ o: Int) -> Int {
        guard o >= 0, o + 8 <= bytes.count else { return 0 }
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[o + i]) }
        return Int(truncatingIfNeeded: v)
    }

    private static func cString(_ bytes: [UInt8], at offset: Int, limit: Int) -> String? {
        guard offset >= 0, offset < bytes.count else { return nil }
        let end = min(bytes.count, offset + max(limit, 0))
        let slice = bytes[offset..<end]
        let stop = slice.firstIndex(of: 0) ?? end
        return String(decoding: bytes[offset..<stop], as: UTF8.self)
    }
}

/// The class (32/64-bit), byte order and machine of any ELF file: what decides whether a process can load it.
public struct ElfIdentity: Sendable, Equatable, CustomStringConvertible {
    /// EI_CLASS: 1 for 32-bit, 2 for 64-bit.
    public var elfClass: UInt8
    /// EI_DATA: 1 little-endian, 2 big-endian.
    public var byteOrder: UInt8
    /// e_machine: 62 x86_64, 183 aarch64, 21 ppc64, 3 i386.
    public var machine: UInt16

    public init(elfClass: UInt8, byteOrder: UInt8, machine: UInt16) {
        self.elfClass = elfClass; self.byteOrder = byteOrder; self.machine = machine
    }

    /// nil when `path` is not a readable ELF file (links are followed).
    public init?(path: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 20) else { return nil }
        let b = [UInt8](head)
        guard b.count == 20, b[0] == 0x7f, b[1] == 0x45, b[2] == 0x4c, b[3] == 0x46, [1, 2].contains(b[4]), [1, 2].contains(b[5]) else { return nil }
        let machine = b[5] == 1 ? UInt16(b[18]) | UInt16(b[19]) << 8 : UInt16(b[18]) << 8 | UInt16(b[19])
        self.init(elfClass: b[4], byteOrder: b[5], machine: machine)
    }

    public var description: String { "\(elfClass == 2 ? 64 : 32)-bit machine \(machine)" }
}

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

    public static func highest(in path: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let marker = Array("GLIBC_2.".utf8)
        var best: Int?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var i = 0
            while i + marker.count < bytes.count {
                if bytes[i] == marker[0], bytes[i - (i > 0 ? 1 : 0)] == 0 || i == 0,
                   (0..<marker.count).allSatisfy({ bytes[i + $0] == marker[$0] }) {
                    var j = i + marker.count, minor = 0, digits = 0
                    while j < bytes.count, bytes[j] >= 48, bytes[j] <= 57 { minor = minor * 10 + Int(bytes[j] - 48); j += 1; digits += 1 }
                    if digits > 0, j < bytes.count, bytes[j] == 0 || bytes[j] == 46 { best = max(best ?? 0, minor) }
                    i = j
                } else { i += 1 }
            }
        }
        return best
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
