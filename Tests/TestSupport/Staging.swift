import Foundation

/// The test run's world-readable scratch area: a temporary root (removed when the test process exits) holding
/// copies of the built binaries, the fixtures, and every sandbox. Root's home is 0700, so the unprivileged test
/// user could not reach the binaries in .build; here everything is reachable.
public final class Staging: Sendable {
    /// The temporary root, mode 0755.
    public let root: String
    /// Holds `udocker` and `udocker-launch`, copied from `UDOCKER_TEST_BIN_DIR` or the package's .build/debug.
    public let binDir: String
    /// The checkout this test run belongs to.
    public let packageRoot: String

    public var udocker: String { binDir + "/udocker" }
    public var udockerLaunch: String { binDir + "/udocker-launch" }

    /// The staging area of this test process, made on first use.
    public static func shared() throws -> Staging { try cached.get { try Staging() } }
    private static let cached = OnceValue<Staging>()

    /// The package root, found from this file's path (Tests/TestSupport/Staging.swift).
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Where the root is made: `UDOCKER_TEST_STAGING_PARENT`, by default /var/tmp. Not /tmp: the test SLURM
    /// cluster's nodes each have a private /tmp, and the staged binaries and sandboxes (the repository plays the
    /// cluster's shared file system) must be visible on every node.
    public static var parentDirectory: String {
        ProcessInfo.processInfo.environment["UDOCKER_TEST_STAGING_PARENT"] ?? "/var/tmp"
    }

    private init() throws {
        _ = FuseDevice.prepareWorld
        packageRoot = Self.packageRoot
        var template = Array((Self.parentDirectory + "/udocker-tests-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestSupportError("mkdtemp: \(String(cString: strerror(errno)))") }
        root = String(cString: made)
        chmod(root, 0o755)
        CleanupAtExit.removeAtExit(root)
        binDir = root + "/bin"
        try Files.makeDirectory(binDir)
        let source = ProcessInfo.processInfo.environment["UDOCKER_TEST_BIN_DIR"] ?? packageRoot + "/.build/debug"
        for name in ["udocker", "udocker-launch"] {
            guard FileManager.default.isExecutableFile(atPath: source + "/" + name) else {
                throw TestSupportError("\(source)/\(name) is missing: build first (swift build), or set UDOCKER_TEST_BIN_DIR")
            }
            try Files.copy(source + "/" + name, to: binDir + "/" + name, mode: 0o755)
        }
    }

    /// A new empty directory under the root, mode 0755, owned by `owner` (default: this process).
    public func makeDirectory(_ label: String, owner: TestUser? = nil) throws -> String {
        let safe = String(label.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(40))
        var template = Array((root + "/" + safe + "-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestSupportError("mkdtemp: \(String(cString: strerror(errno)))") }
        let path = String(cString: made)
        chmod(path, 0o755)
        try owner?.own(path)
        return path
    }
}

/// Small file helpers the harness needs (kept apart from UdockerCore so the harness does not trust the code
/// under test).
public enum Files {
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755, owner: TestUser? = nil) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, mode)
        try owner?.own(path)
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o644, owner: TestUser? = nil) throws {
        try write(Data(text.utf8), to: path, mode: mode, owner: owner)
    }

    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644, owner: TestUser? = nil) throws {
        guard FileManager.default.createFile(atPath: path, contents: data) else { throw TestSupportError("cannot write \(path)") }
        chmod(path, mode)
        try owner?.own(path)
    }

    public static func copy(_ source: String, to target: String, mode: mode_t) throws {
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: source, toPath: target)
        chmod(target, mode)
    }

    public static func read(_ path: String) throws -> String {
        try String(decoding: Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    /// True for a real directory (not a link to one).
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Size in bytes (of the link itself for a symlink); -1 when missing.
    public static func size(_ path: String) -> Int64 {
        var st = stat()
        return lstat(path, &st) == 0 ? Int64(st.st_size) : -1
    }

    /// Entries of a directory, sorted; empty when it does not exist.
    public static func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Removes a tree even when directories inside were made read-only (as container trees can be).
    /// Best effort: what cannot be removed stays.
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            chmod(path, (st.st_mode & 0o7777) | 0o700)
            for entry in list(path) { removeTree(path + "/" + entry) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Makes a tree readable by everyone (directories traversable), for fixtures the test user reads.
    public static func makeWorldReadable(_ path: String) throws {
        let result = try Command.run(["/bin/chmod", "-R", "a+rX", path], timeout: .seconds(60))
        guard result.succeeded else { throw TestSupportError("chmod failed:\n\(result)") }
    }
}

/// At the test process's exit: stop every process group still running, then remove the staging trees.
enum CleanupAtExit {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var installed = false
    nonisolated(unsafe) private static var paths: [String] = []

    static func install() {
        lock.withLock {
            guard !installed else { return }
            installed = true
            atexit { CleanupAtExit.run() }
        }
    }

    static func removeAtExit(_ path: String) {
        install()
        lock.withLock { paths.append(path) }
    }

    private static func run() {
        ChildRegistry.killAll()
        let doomed = lock.withLock { paths }
        if ProcessInfo.processInfo.environment["UDOCKER_TEST_KEEP"] != nil {
            for path in doomed { FileHandle.standardError.write(Data("udocker tests: kept \(path)\n".utf8)) }
            return
        }
        for path in doomed { Files.removeTree(path) }
    }
}
