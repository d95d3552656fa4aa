import Foundation
import Testing
import TestSupport
import CommandExpectations
@testable import UdockerCore

/// The portable bundle (`make bundle`, packaging/bundle.sh) on an old system: a Debian 11 root (glibc 2.31, no
/// libcurl, libarchive, hwloc, numa or proot) entered as the unprivileged user with user namespaces and
/// pivot_root. The user unpacks the bundle in $HOME, runs its ./install, and then loads, creates, runs in P1, U1
/// and F1 (bullseye's libfakechroot, picked for the guest's glibc) and pulls from the test registry (why this
/// suite lives with the registry tests). The bundle is made from the staged (debug) binaries.
@Suite(.serialized) struct BundleTests {
    @Test func bundleRunsOnDebian11() throws {
        guard geteuid() == 0 else {
            print("bundle test skipped: it builds the bundle and the Debian 11 root as root (CI runs as root)")
            return
        }
        let sandbox = try Sandbox()
        let user = sandbox.user
        let inputs = try sandbox.makeDirectory("inputs")
        let bullseye = try DebianRootfs.tarball("bullseye")
        try mustRun(["cp", bullseye, inputs + "/bullseye.tar"])
        try mustRun(["cp", try Fixtures.busybox().dockerArchive, inputs + "/busybox.tar"])
        let bundle = try Self.makeBundle(into: inputs, staging: sandbox.staging)
        try Self.copyHostUnshare(into: inputs + "/hostbin")
        try mustRun(["chmod", "-R", "a+rX", inputs])

        // The Debian 11 root: the test user exists there, as on any cluster node.
        let root = try sandbox.makeDirectory("debian11")
        try mustRun(["tar", "-xf", bullseye, "-C", root, "--exclude=./dev/*", "--no-same-owner"])
        let home = "/home/" + user.name
        try Files.makeDirectory(root + home, owner: user)
        let passwd = try Files.read(root + "/etc/passwd") + "\(user.name):x:\(user.uid):\(user.gid)::\(home):/bin/sh\n"
        try Files.write(passwd, to: root + "/etc/passwd")
        try Files.write(try Files.read(root + "/etc/group") + "\(user.name):x:\(user.gid):\n", to: root + "/etc/group")
        try Files.makeDirectory(root + "/tmp", mode: 0o1777)
        try Files.makeDirectory(root + "/.host")

        let registry = try RegistryServer(.plain, fixtures: try RegistryFixtures.get())
        func inDebian11(_ script: String) throws -> CommandResult {
            try Self.run(script, root: root, inputs: inputs, home: home, user: user)
        }

        let missing = try inDebian11("for f in libcurl.so.4 libarchive.so.13 libhwloc.so.15 libnuma.so.1; do "
                                     + "test -e /usr/lib/x86_64-linux-gnu/$f && echo $f; done; command -v proot; "
                                     + "ldd --version | head -n1")
        #expect(missing.out.hasSuffix("2.31\n") && missing.lines.count == 1, "the root is Debian 11 without them: \(missing)")

        let install = try inDebian11("tar -xzf /mnt/\(Paths.basename(bundle)) && \(Self.bundleName)/install")
        #expect(install.succeeded, "\(install)")
        let udocker = "~/\(Self.bundleName)/bin/udocker"
        let version = try inDebian11("\(udocker) version")
        #expect(version.succeeded && version.out.contains("version: "), "\(version)")

        // The bundle carries libsquashfs, libsquashfuse_ll and libfuse3: with /dev/fuse as distributions set it,
        // the launcher says a SquashFS could be mounted here.
        let info = try FuseDevice.with(mode: 0o666) { try inDebian11("~/\(Self.bundleName)/bin/udocker-launch info") }
        #expect(info.lines.contains("squashfs mount:     possible (FUSE in a user namespace: U1 runs images and published SquashFS files mounted)"), "\(info)")

        try requireSuccess(inDebian11("\(udocker) load -i /mnt/busybox.tar && \(udocker) create --name=b \(try Fixtures.busybox().reference)"))
        for mode in ["P1", "U1"] {
            let ran = try inDebian11("\(udocker) setup --execmode=\(mode) b && \(udocker) run --nobanner b /bin/sh -c 'echo $container_execmode'")
            #expect(ran.succeeded && ran.out == mode + "\n", "\(ran)")
        }

        try requireSuccess(inDebian11("\(udocker) import /mnt/bullseye.tar debian:11 && \(udocker) create --name=d debian:11 "
                                      + "&& \(udocker) setup --execmode=F1 d"))
        // /mnt/busybox.tar is the node's: the container's /mnt is empty.
        let f1 = try inDebian11("\(udocker) run --nobanner d /bin/sh -c 'cat /etc/debian_version; test -e /mnt/busybox.tar || echo confined'")
        #expect(f1.succeeded && f1.out.hasPrefix("11.") && f1.out.hasSuffix("\nconfined\n"), "\(f1)")
        let tooNew = try inDebian11("UDOCKER_FAKECHROOT_SO=~/.udocker/lib/libfakechroot-Debian-12-x86_64.so \(udocker) run --nobanner d true")
        #expect(tooNew.status == 1 && tooNew.err.contains("the container's glibc 2.31 is older than the glibc 2.34"), "\(tooNew)")

        let pull = try inDebian11("\(udocker) pull --registry=http://\(registry.host) tools/multi:v1 && \(udocker) images")
        #expect(pull.succeeded && pull.out.contains("tools/multi:v1"), "\(pull)")
    }

    static let bundleName = "udocker-swift-test"

    /// packaging/bundle.sh over the staged binaries; the libfakechroot packages are cached beside DebianRootfs'.
    static func makeBundle(into directory: String, staging: Staging) throws -> String {
        let cache = "/var/cache/udocker-swift-tests/bundle-packages"
        let made = try Command.run([staging.packageRoot + "/packaging/bundle.sh", staging.binDir, "test", directory, cache],
                                   directory: staging.packageRoot, timeout: .seconds(600))
        guard made.succeeded else { throw TestSupportError("packaging/bundle.sh failed:\n\(made)") }
        return directory + "/\(bundleName)-x86_64.tar.gz"
    }

    /// Runs `script` in the Debian 11 root as `user`, from its HOME, with `inputs` at /mnt. mount(8) and
    /// pivot_root want uid 0: as root of one user namespace the binds are made and the root is pivoted into (not
    /// chroot: a chrooted process cannot make the user namespace U1 needs) and the host's tree unmounted; then a
    /// nested namespace maps the user's own uid. Debian 11's unshare has no --map-user: the host's runs, with its
    /// libraries, from inputs/hostbin through its own loader.
    static func run(_ script: String, root: String, inputs: String, home: String, user: TestUser) throws -> CommandResult {
        let outer = """
        set -e
        mount --bind "$1" "$1"; mount --rbind /dev "$1/dev"; mount --rbind /proc "$1/proc"; mount --rbind /sys "$1/sys"
        mount --bind "$2" "$1/mnt"; cd "$1"; shift 2
        /sbin/pivot_root . .host; cd /; umount -l /.host
        exec /mnt/hostbin/ld-linux-x86-64.so.2 --library-path /mnt/hostbin /mnt/hostbin/unshare --user \
            --map-user=\(user.uid) --map-group=\(user.gid) /bin/sh -c 'cd "$HOME" && exec "$@"' sh "$@"
        """
        let environment = ["HOME": home, "USER": user.name, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": "/tmp"]
        return try Command.run([
            "unshare", "--user", "--map-root-user", "--mount", "/bin/sh", "-c", outer, "sh", root, inputs, "/bin/sh", "-c", script,
        ], env: environment, as: user, directory: "/", timeout: .seconds(300))
    }

    /// The host's unshare with the libraries it loads and their loader, into `directory`.
    static func copyHostUnshare(into directory: String) throws {
        try Files.makeDirectory(directory)
        let unshare = "/usr/bin/unshare"
        var files = [unshare]
        for line in try mustRun(["ldd", unshare]).lines {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if let arrow = fields.firstIndex(of: "=>"), arrow + 1 < fields.count, fields[arrow + 1].hasPrefix("/") {
                files.append(fields[arrow + 1])
            } else if let first = fields.first, first.hasPrefix("/"), first.contains("ld-linux") {
                files.append(first)
            }
        }
        for file in files {
            let name = file.contains("ld-linux") ? "ld-linux-x86-64.so.2" : Paths.basename(file)
            try mustRun(["cp", "-L", file, directory + "/" + name])
        }
    }
}
