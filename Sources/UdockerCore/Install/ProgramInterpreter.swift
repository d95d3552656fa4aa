import Foundation

/// The bundle's programs (udocker, udocker-launch, the engine tools) run with the bundle's own glibc, whatever the
/// host's: their program interpreter is the bundle's ld-linux-x86-64.so.2. The kernel wants that as an absolute
/// path, known only once the bundle is unpacked, so `make bundle` writes a long placeholder into PT_INTERP and
/// `udocker install` overwrites it in place with the real path (no patchelf needed on the host).
public enum ProgramInterpreter {
    /// What `make bundle` (packaging/bundle.sh) writes: this prefix, padded with `x` to `placeholderLength` bytes.
    public static let placeholderPrefix = "/udocker-bundle-interpreter-unset/"
    public static let placeholderLength = 1000

    /// Points `program` at `interpreter` when it names another one. Throws when the path does not fit the room
    /// PT_INTERP has.
    public static func set(_ program: String, to interpreter: String) throws {
        guard let elf = ElfFile(path: program), let slot = elf.interpreterSlot else {
            throw UdockerError(.invalidInput, "\(program) is not a dynamically linked ELF program")
        }
        guard elf.interpreter != interpreter else { return }
        var bytes = Array(interpreter.utf8)
        guard bytes.count < slot.size else {
            throw UdockerError(.unsupported, "\(interpreter) is too long to be the interpreter of \(program) "
                               + "(at most \(slot.size - 1) bytes): unpack the bundle in a shorter path")
        }
        bytes += [UInt8](repeating: 0, count: slot.size - bytes.count)
        // A new file renamed over the old: the program may be running (ETXTBSY), or starting in another rank.
        var contents = try FileSystem.read(program)
        contents.replaceSubrange(slot.offset..<slot.offset + slot.size, with: bytes)
        var st = stat()
        guard stat(program, &st) == 0 else { throw UdockerError.posix("cannot stat", program) }
        try FileSystem.atomicWrite(contents, to: program, mode: st.st_mode & 0o7777)
    }

    /// Whether `program` still names the placeholder (a tool from the bundle not yet installed).
    public static func isUnset(_ program: String) -> Bool {
        ElfFile(path: program)?.interpreter?.hasPrefix(placeholderPrefix) == true
    }
}
