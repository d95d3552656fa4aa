import Foundation

/// F2–F4's loader: a copy of the container's ld.so whose built-in search of /etc/ld.so.cache, /lib and /usr is
/// blanked out and which reads LD_LIBRARY_REAL instead of LD_LIBRARY_PATH, so that nothing a program does to
/// LD_LIBRARY_PATH, and no absolute path in the cache, makes it load the host's libraries (udocker's patch_ld).
public enum LoaderPatch {
    static let replacements: [(String, String)] = [
        ("\0/etc/ld.so", "\0/\0\0\0\0\0\0\0\0\0"),
        ("\0/lib", "\0/\0\0\0"),
        ("\0/usr", "\0/\0\0\0"),
        ("\0LD_LIBRARY_PATH\0", "\0LD_LIBRARY_REAL\0"),
    ]

    /// The patched bytes; every replacement keeps the length, so offsets inside the ELF do not move.
    public static func patch(_ loader: Data) -> Data {
        var bytes = [UInt8](loader)
        for (from, to) in replacements { replaceAll(&bytes, Array(from.utf8), Array(to.utf8)) }
        return Data(bytes)
    }

    private static func replaceAll(_ bytes: inout [UInt8], _ from: [UInt8], _ to: [UInt8]) {
        guard from.count == to.count, bytes.count >= from.count else { return }
        var i = 0
        while i <= bytes.count - from.count {
            if bytes[i] == from[0] && bytes[i..<(i + from.count)].elementsEqual(from) {
                bytes.replaceSubrange(i..<(i + from.count), with: to)
                i += from.count
            } else { i += 1 }
        }
    }
}
