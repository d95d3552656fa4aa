import Foundation

/// /dev/fuse as users have it. This VM ships it 0600 root; Debian's udev rule (and every mainstream distribution)
/// makes it 0666, so the test world makes it 0666 for the whole run (`prepareWorld`, said once in the output, put
/// back when the test process exits), and a test of the fallback sets it 0600 for itself (`with`). Suites run in
/// parallel: one test at a time holds the device's mode, and a test whose assertions need mounting holds it 0666.
public enum FuseDevice {
    private static let holder = NSLock()
    /// The mode the test world keeps between tests that set their own.
    public static let worldMode: mode_t = 0o666
    private nonisolated(unsafe) static var original: mode_t?

    /// Once per test process, from `Staging`: /dev/fuse 0666 (when the kernel has FUSE and we are root).
    static let prepareWorld: Void = {
        var st = stat()
        guard getuid() == 0, stat("/dev/fuse", &st) == 0, st.st_mode & 0o7777 != worldMode else { return }
        original = st.st_mode & 0o7777
        guard chmod("/dev/fuse", worldMode) == 0 else { return }
        print("the test world makes /dev/fuse \(String(worldMode, radix: 8)) as Debian's udev rule does (it was "
              + "\(String(st.st_mode & 0o7777, radix: 8))); put back when the tests end")
        atexit { if let original = FuseDevice.original { chmod("/dev/fuse", original) } }
    }()

    public static func with<T>(mode: mode_t, _ body: () throws -> T) throws -> T {
        holder.lock()
        defer { holder.unlock() }
        _ = prepareWorld
        var st = stat()
        guard stat("/dev/fuse", &st) == 0 else { throw TestSupportError("/dev/fuse is missing: the kernel has no FUSE") }
        let before = st.st_mode & 0o7777
        guard before != mode else {
            print("/dev/fuse is \(String(mode, radix: 8)) already, as this test needs")
            return try body()
        }
        guard chmod("/dev/fuse", mode) == 0 else { throw TestSupportError("cannot chmod /dev/fuse: \(String(cString: strerror(errno)))") }
        print("/dev/fuse made \(String(mode, radix: 8)) for this test (it was \(String(before, radix: 8))); restored afterwards")
        defer { chmod("/dev/fuse", before) }
        return try body()
    }
}
