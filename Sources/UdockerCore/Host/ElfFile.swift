import Foundation

/// What the engines need to know about an ELF file without running it: whether it is dynamically linked, its
/// program interpreter (PT_INTERP), its library search path (DT_RPATH / DT_RUNPATH) and its soname (DT_SONAME).
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

    /// nil when `path` is not a readable 64-bit little-endian ELF file.
    public init?(path: String) {
        guard let data = Self.readHead(path) else { return nil }
        self.init(data: data, path: path)
    }

    init?(data: Data, path: String) {
        let bytes = [UInt8](data)
        guard bytes.count >= 64, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46,
              bytes[4] == 2, bytes[5] == 1 else { return nil }
        func u16(_ o: Int) -> Int { o + 2 <= bytes.count ? Int(bytes[o]) | Int(bytes[o + 1]) << 8 : 0 }
        func u64(_ o: Int) -> Int {
            guard o + 8 <= bytes.count else { return 0 }
            var v: UInt64 = 0
            for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[o + i]) }
            return Int(truncatingIfNeeded: v)
        }
        let phoff = u64(32), phentsize = u16(54), phnum = u16(56)
        var interpreter: String?
        var interpreterSlot: Slot?
        var dynamic: (offset: Int, size: Int)?
        var loads: [(vaddr: Int, offset: Int, size: Int)] = []
        for i in 0..<phnum {
            let ph = phoff + i * phentsize
            guard ph + 56 <= bytes.count else { return nil }
            let type = Int(bytes[ph]) | Int(bytes[ph + 1]) << 8 | Int(bytes[ph + 2]) << 16 | Int(bytes[ph + 3]) << 24
            let offset = u64(ph + 8), vaddr = u64(ph + 16), fileSize = u64(ph + 32)
            switch type {
            case 1: loads.append((vaddr, offset, fileSize))
            case 2: dynamic = (offset, fileSize)
            case 3:
                interpreter = Self.cString(bytes, at: offset, limit: fileSize)
                interpreterSlot = Slot(offset: offset, size: fileSize)
            default: break
            }
        }
        self.interpreter = interpreter
        self.interpreterSlot = interpreterSlot
        self.isDynamic = dynamic != nil
        guard let dynamic else { return }
        // Walk the dynamic section for the string table address and the rpath/runpath/soname offsets into it.
        var strtab = 0, rpath: Int?, runpath: Int?, soname: Int?
        var entry = dynamic.offset
        while entry + 16 <= min(bytes.count, dynamic.offset + dynamic.size) {
            let tag = u64(entry), value = u64(entry + 8)
            if tag == 0 { break }
            switch tag {
            case 5: strtab = value
            case 14: soname = value
            case 15: rpath = value
            case 29: runpath = value
            default: break
            }
            entry += 16
        }
        guard let load = loads.first(where: { strtab >= $0.vaddr && strtab < $0.vaddr + $0.size }) else { return }
        let strings = strtab - load.vaddr + load.offset
        self.soname = soname.flatMap { Self.cString(bytes, at: strings + $0, limit: 4096) }
        guard let stringOffset = runpath ?? rpath else { return }
        searchPath = Self.cString(bytes, at: strings + stringOffset, limit: 4096)
        searchPathKind = runpath != nil ? .runpath : .rpath
    }

    /// Headers, program headers and the dynamic section sit in the first pages of every ELF file we care about.
    private static func readHead(_ path: String) -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let magic = try? handle.read(upToCount: 4), magic == Data([0x7f, 0x45, 0x4c, 0x46]) else { return nil }
        try? handle.seek(toOffset: 0)
        return try? handle.read(upToCount: 1 << 20)
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
