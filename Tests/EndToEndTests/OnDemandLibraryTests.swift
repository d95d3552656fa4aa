import Foundation
import Testing
import TestSupport
import CommandExpectations

/// No C library is linked: libcurl, libarchive, libcrypto, libhwloc, libnuma and libsquashfs are loaded only by the commands
/// that need them. With all made unloadable (/dev/null bound over each in a private user + mount namespace, as on
/// a node that lacks them) the commands that run containers still work, and those that need a library fail with
/// one line naming it.
@Suite struct OnDemandLibraryTests {
    @Test func runWorksWithoutTheCLibraries() throws {
        let sandbox = try Sandbox()
        try sandbox.createContainer("c", from: Fixtures.busybox())
        let libraries = try ["libcurl.so.4", "libarchive.so.13", "libcrypto.so.3", "libhwloc.so.15", "libnuma.so.1", "libsquashfs.so.1"].map(Self.hostPath)
        // mount(8) wants uid 0: bind as root of one user namespace, then run as the test user's own uid in a
        // namespace nested in it (the mounts stay).
        let user = sandbox.user
        func withoutLibraries(_ command: [String]) throws -> CommandResult {
            let script = libraries.map { "mount --bind /dev/null \($0) || exit 99; " }.joined()
                + "exec unshare --user --map-user=\(user.uid) --map-group=\(user.gid) \"$@\""
            return try sandbox.run(["unshare", "--user", "--map-root-user", "--mount", "/bin/sh", "-c", script, "sh"] + command,
                                   timeout: .seconds(60))
        }
        let udocker = sandbox.staging.udocker

        let ran = try withoutLibraries([udocker, "run", "--nobanner", "c", "/bin/echo", "ran"])
        #expect(ran.succeeded && ran.out == "ran\n", "\(ran)")
        for command in [["ps"], ["images"], ["inspect", "c"], ["setup", "c"], ["version"]] {
            let result = try withoutLibraries([udocker] + command)
            #expect(result.succeeded, "\(command): \(result)")
        }
        let launcher = try withoutLibraries([sandbox.staging.udockerLaunch, "--help"])
        #expect(launcher.succeeded, "\(launcher)")

        let pull = try withoutLibraries([udocker, "pull", "127.0.0.1:9/none:v1"])
        expectOneLineError(pull)
        #expect(pull.err.hasPrefix("Error: libcurl.so.4 cannot be loaded"), "\(pull)")
        let load = try withoutLibraries([udocker, "load", "-i", try Fixtures.busybox().dockerArchive])
        expectOneLineError(load)
        #expect(load.err.contains("libarchive.so.13 cannot be loaded"), "\(load)")
        let verify = try withoutLibraries([udocker, "verify", try Fixtures.busybox().reference])
        expectOneLineError(verify)
        #expect(verify.err.contains("libcrypto.so.3 cannot be loaded"), "\(verify)")
        let pinned = try withoutLibraries([udocker, "run", "--nobanner", "--cpuset-cpus=0", "c", "/bin/true"])
        expectOneLineError(pinned)
        #expect(pinned.err.contains("libhwloc.so.15 cannot be loaded"), "\(pinned)")
    }

    /// Where the host's dynamic loader finds `soname` (ldconfig's cache).
    static func hostPath(_ soname: String) throws -> String {
        let cache = try Command.run(["/sbin/ldconfig", "-p"])
        guard let line = cache.lines.first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(soname + " ") && $0.contains("x86-64") }),
              let arrow = line.range(of: " => ") else {
            throw TestSupportError("\(soname) is not in ldconfig's cache: install it (make deps)")
        }
        return String(line[arrow.upperBound...])
    }
}
