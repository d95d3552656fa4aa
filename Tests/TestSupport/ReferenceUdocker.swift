import Foundation

/// udocker 1.3.17, the Python original, for interoperability tests on a shared repository. Its wheel is fetched
/// once with `pip download` into the package's .build/udocker-1.3.17 (the only download the tests make), then
/// copied where the test user can read it. It runs with Debian's /usr/bin/python3, proot from the host
/// (UDOCKER_USE_PROOT_EXECUTABLE) and `lib/VERSION` saying 1.2.11, so it never tries to install its tarball.
public struct ReferenceUdocker: Sendable {
    public static let version = "1.3.17"
    /// The directory holding the `udocker` Python package (PYTHONPATH).
    public let packageDirectory: String

    public static func shared() throws -> ReferenceUdocker {
        try cached.get {
            let cache = try fetchIfNeeded()
            let staged = try Staging.shared().root + "/udocker-\(version)"
            let copy = try Command.run(["/bin/cp", "-a", cache, staged])
            guard copy.succeeded else { throw TestSupportError("cannot stage udocker \(version):\n\(copy)") }
            try Files.makeWorldReadable(staged)
            return ReferenceUdocker(packageDirectory: staged)
        }
    }
    private static let cached = OnceValue<ReferenceUdocker>()

    /// The command line that runs it with `arguments`.
    public func argv(_ arguments: [String]) -> [String] {
        ["/usr/bin/python3", "-c", "import sys; sys.argv[0] = 'udocker'; from udocker.maincmd import main; main()"] + arguments
    }

    /// Where the unpacked wheel is cached: .build/udocker-1.3.17 in the checkout.
    static var cacheDirectory: String { Staging.packageRoot + "/.build/udocker-\(version)" }

    private static func fetchIfNeeded() throws -> String {
        let cache = cacheDirectory
        if Files.exists(cache + "/udocker/maincmd.py") { return cache }
        try Files.makeDirectory(Staging.packageRoot + "/.build")
        let lockFD = open(cache + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw TestSupportError("cannot open \(cache).lock") }
        defer { close(lockFD) }
        while flock(lockFD, LOCK_EX) != 0 && errno == EINTR {}
        if Files.exists(cache + "/udocker/maincmd.py") { return cache }

        let work = cache + ".partial"
        Files.removeTree(work)
        try Files.makeDirectory(work)
        let download = try Command.run(["/usr/bin/python3", "-m", "pip", "download", "--quiet", "--no-deps",
                                        "--only-binary=:all:", "--dest", work, "udocker==\(version)"],
                                       timeout: .seconds(300))
        guard download.succeeded else {
            throw TestSupportError("cannot download udocker \(version) with pip (needs python3-pip and PyPI; `make deps`):\n\(download)")
        }
        guard let wheel = Files.list(work).first(where: { $0.hasSuffix(".whl") }) else {
            throw TestSupportError("pip downloaded no wheel into \(work)")
        }
        let unzip = try Command.run(["/usr/bin/python3", "-m", "zipfile", "-e", work + "/" + wheel, work])
        guard unzip.succeeded else { throw TestSupportError("cannot unpack \(wheel):\n\(unzip)") }
        try FileManager.default.removeItem(atPath: work + "/" + wheel)
        guard rename(work, cache) == 0 else { throw TestSupportError("cannot rename \(work) to \(cache)") }
        return cache
    }
}

extension Sandbox {
    /// Runs udocker 1.3.17 on this sandbox's repository, as the test user.
    @discardableResult
    public func referenceUdocker(_ arguments: [String], stdin: Data? = nil, env: [String: String] = [:],
                                 timeout: Duration = .seconds(120)) throws -> CommandResult {
        let reference = try ReferenceUdocker.shared()
        // Without lib/VERSION udocker 1.3.17 tries to download its engine tarball.
        let lib = udockerDir + "/lib"
        if !Files.exists(lib + "/VERSION") {
            for dir in [udockerDir, lib] where !Files.exists(dir) { try Files.makeDirectory(dir, owner: user) }
            try Files.write("1.2.11\n", to: lib + "/VERSION", owner: user)
        }
        var extra = ["PYTHONPATH": reference.packageDirectory, "UDOCKER_USE_PROOT_EXECUTABLE": "/usr/bin/proot"]
        extra.merge(env) { $1 }
        return try run(reference.argv(arguments), stdin: stdin, env: extra, timeout: timeout)
    }

    /// Variadic form.
    @discardableResult
    public func referenceUdocker(_ arguments: String...) throws -> CommandResult { try referenceUdocker(arguments) }
}
