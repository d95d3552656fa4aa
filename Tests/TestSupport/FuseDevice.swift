import Foundation

/// /dev/fuse set to `mode` for one test and put back afterwards, said in the test output. This VM ships it 0600
/// root; Debian's udev rule (and every mainstream distribution) makes it 0666, which is what users have. Suites
/// run in parallel: one test at a time holds the device's mode.
public enum FuseDevice {
    private static let holder = NSLock()

    public static func with<T>(mode: mode_t, _ body: () throws -> T) throws -> T {
        holder.lock()
        defer { holder.unlock() }
        var st = stat()
        guard stat("/dev/fuse", &st) == 0 else { throw TestSupportError("/dev/fuse is missing: the kernel has no FUSE") }
        let original = st.st_mode & 0o7777
        guard original != mode else {
            print("/dev/fuse is \(String(mode, radix: 8)) already, as this test needs")
            return try body()
        }
        guard chmod("/dev/fuse", mode) == 0 else { throw TestSupportError("cannot chmod /dev/fuse: \(String(cString: strerror(errno)))") }
        print("/dev/fuse made \(String(mode, radix: 8)) for this test (it was \(String(original, radix: 8))); restored afterwards")
        defer { chmod("/dev/fuse", original) }
        return try body()
    }
}
