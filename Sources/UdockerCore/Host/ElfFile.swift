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
    /// The version names of DT_VERDEF (a libc.so.6: GLIBC_2.2.5 … GLIBC_2.36, GLIBC_PRIVATE), the library's own
    /// name first, as the file defines them.
    public var versionsDefined: [String] = []

    /// nil when `path` is not a readable 64-bit little-endian ELF file. Reads only what it needs with a few
    /// preads: the headers, the dynamic section, the string table and the version sections.
    public init?(path: String) {
        // O_NONBLOCK: a FIFO among the files looked at must not hang the reader (regular files ignore it).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        func readAt(_ offset: Int, _ count: Int) -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: count) { buffer, filled in
                filled = 0
                while filled < count {
                    let n = pread(fd, buffer.baseAddress! + filled, count - filled, off_t(offset + filled))
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    filled += n
                }
            }
        }
        // The dynamic section of a large library may lie far beyond the head (libmpich's at 41 MB).
        self.init(head: readAt(0, Self.headSize), more: readAt)
    }

    /// The ELF header and the program headers sit in the first page of every ELF file; `more` reads what lies beyond.
    static let headSize = 4096

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
        // Usually right after the ELF header; patchelf may have moved them further into the file.
        let headers = phentsize >= 56 && phnum <= 1024 ? read(phoff, phnum * phentsize) : []
        for i in 0..<phnum {
            let ph = i * phentsize
            guard ph + 56 <= headers.count else { return nil }
            let type = Self.u32(headers, ph)
            let offset = Self.u64(headers, ph + 8), vaddr = Self.u64(headers, ph + 16), fileSize = Self.u64(headers, ph + 32)
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
        var verneed = 0, verneedCount = 0, verdef = 0, verdefCount = 0
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
            case 0x6fff_fffc: verdef = value
            case 0x6fff_fffd: verdefCount = value
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
        // The whole table in one read, unless it is huge (node's is 5 MB): then each string where it lies.
        let whole = strsz > 0 && strsz <= 1 << 20
        let table = whole ? read(strings, strsz) : []
        func string(_ offset: Int) -> String? {
            whole ? Self.cString(table, at: offset, limit: 4096) : Self.cString(read(strings + offset, 4096), at: 0, limit: 4096)
        }
        self.soname = soname.flatMap(string)
        self.needed = needed.compactMap(string)
        if verneedCount > 0, let start = fileOffset(verneed) {
            // Elf64_Verneed (vn_cnt at 2, vn_aux at 8, vn_next at 12) each followed by Elf64_Vernaux entries
            // (vna_name at 8, vna_next at 12).
            versionsNeeded = Self.versionNames(read(start, 1 << 14), entries: verneedCount, countAt: 2, auxAt: 8,
                                               nextAt: 12, auxSize: 16, auxNameAt: 8, auxNextAt: 12, string: string)
        }
        if verdefCount > 0, let start = fileOffset(verdef) {
            // Elf64_Verdef (vd_cnt at 6, vd_aux at 12, vd_next at 16) each followed by Elf64_Verdaux entries
            // (vda_name at 0, vda_next at 4): the first names the version, the others its parents.
            versionsDefined = Self.versionNames(read(start, 1 << 14), entries: verdefCount, countAt: 6, auxAt: 12,
                                                nextAt: 16, auxSize: 8, auxNameAt: 0, auxNextAt: 4, string: string, firstOnly: true)
        }
        guard let stringOffset = runpath ?? rpath else { return }
        searchPath = string(stringOffset)
        searchPathKind = runpath != nil ? .runpath : .rpath
    }

    /// The names in a version section (GNU verneed or verdef): `entries` records linked by their `next` offsets,
    /// each with a `count` of auxiliary records linked the same way, whose name is an offset into the string table.
    /// Bounded, so a corrupt file cannot loop.
    private static func versionNames(_ block: [UInt8], entries: Int, countAt: Int, auxAt: Int, nextAt: Int, auxSize: Int,
                                     auxNameAt: Int, auxNextAt: Int, string: (Int) -> String?, firstOnly: Bool = false) -> [String] {
        var names: [String] = [], entry = 0
        for _ in 0..<min(entries, 512) {
            guard entry + nextAt + 4 <= block.count else { break }
            var aux = entry + Int(u32(block, entry + auxAt))
            for _ in 0..<min(u16(block, entry + countAt), firstOnly ? 1 : 256) {
                guard aux + auxSize <= block.count else { break }
                if let name = string(Int(u32(block, aux + auxNameAt))) { names.append(name) }
                let next = Int(u32(block, aux + auxNextAt))
                if next == 0 { break }
                aux += next
            }
            let next = Int(u32(block, entry + nextAt))
            if next == 0 { break }
            entry += next
        }
        return names
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
