import Foundation

/// Debian root file systems made by mmdebstrap (minbase variant, from the machine's Debian mirror), as tarballs
/// cached for a day: building one takes 15-60 s, and several suites and test runs use the same.
public enum DebianRootfs {
    /// The tarball of `suite` (bookworm, bullseye…) with `packages` added, without manual pages, documentation
    /// and translations. Cached per day under /var/cache/udocker-swift-tests as root, else /tmp per user; safe
    /// to call from concurrent test processes (each builds under its own name, then renames into place).
    /// The tarball holds device nodes under ./dev: exclude `./dev/*` when extracting it unprivileged.
    public static func tarball(_ suite: String, including packages: [String] = []) throws -> String {
        let day = String(Int(Date().timeIntervalSince1970) / 86_400)
        let dir = geteuid() == 0 ? "/var/cache/udocker-swift-tests" : "/tmp/udocker-swift-tests-\(geteuid())"
        let tarball = dir + "/" + ([suite + "-minbase"] + packages).joined(separator: "+") + "-\(day).tar"
        if Files.exists(tarball) { return tarball }
        try Files.makeDirectory(dir)
        let partial = tarball + ".partial-\(getpid()).tar"
        var argv = ["mmdebstrap", "--quiet", "--variant=minbase"]
        if geteuid() != 0 { argv.append("--mode=unshare") }
        if !packages.isEmpty { argv.append("--include=" + packages.joined(separator: ",")) }
        argv += ["man", "doc", "locale", "info"].map { "--dpkgopt=path-exclude=/usr/share/\($0)/*" }
        let result = try Command.run(argv + [suite, partial], timeout: .seconds(900))
        guard result.succeeded else {
            unlink(partial)
            throw TestSupportError("mmdebstrap of \(suite) failed:\n\(result)")
        }
        guard rename(partial, tarball) == 0 else { throw TestSupportError("cannot store \(tarball)") }
        chmod(tarball, 0o644)
        return tarball
    }
}
