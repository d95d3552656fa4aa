import Foundation

/// The MPI example programs of examples/mpi, compiled natively and in Debian images with their own Open MPI, for
/// the launcher's tests and benchmarks. Each is built once per test process, on first use; the Debian root file
/// systems are cached for a day (`DebianRootfs`).
public enum MPIFixtures {
    /// Where the programs lie inside every MPI image.
    public static let helloPath = "/opt/mpi/hello"
    public static let pingpongPath = "/opt/mpi/pingpong"
    /// The tests' probe: prints `rank R of N maps DEV INODE PATH` for the MPI library its process mapped.
    public static let mapsPath = "/opt/mpi/mpi-maps"

    /// examples/mpi/{hello,pingpong}.c compiled on the host by Debian 12's Open MPI 4.1.4 (`mpicc.openmpi`,
    /// named so that an installed MPICH cannot be picked instead), in the staging area: runnable by the test user
    /// on every node of the test cluster, natively (`srun --mpi=pmix PATH`).
    public static func native() throws -> MPIPrograms { try nativePrograms.get { try compileNative() } }

    /// `fixtures/debian-mpi:12`: Debian 12 minbase with Open MPI 4.1.4 (libopenmpi3, openmpi-bin; the host's
    /// version) in one layer, and in a second the native programs at `helloPath` and `pingpongPath`. Cmd: hello.
    public static func debian12() throws -> FixtureImage { try bookwormImage.get { try buildDebian12() } }

    /// `fixtures/debian-mpi:11`: Debian 11 minbase, glibc 2.31 (too old for the host's libfakechroot and the host's
    /// Open MPI, which need 2.34), with Open MPI 4.1.0 and its development files in one layer, and in a second the
    /// programs compiled against that root's own glibc and Open MPI (host gcc with `--sysroot`: a program built
    /// against the host's glibc would need GLIBC_2.34 and not start there). Cmd: hello.
    public static func debian11() throws -> FixtureImage { try bullseyeImage.get { try buildDebian11() } }

    /// `fixtures/debian-mpi:13`: Debian 13 (trixie) minbase with its Open MPI 5 and development files in one layer,
    /// and in a second the programs compiled against that root's own glibc and Open MPI (host gcc with `--sysroot`,
    /// as for Debian 11). Cmd: hello.
    public static func debian13() throws -> FixtureImage { try trixieImage.get { try buildDebian13() } }

    /// `fixtures/debian-mpich:12`: Debian 12 minbase with MPICH 4.0.2 (libmpich12, the host's version) in one layer,
    /// and in a second the programs compiled on the host by `mpicc.mpich` (they link libmpich.so.12). Cmd: hello.
    public static func debian12MPICH() throws -> FixtureImage { try bookwormMPICHImage.get { try buildDebian12MPICH() } }

    private static let nativePrograms = OnceValue<MPIPrograms>()
    private static let bookwormImage = OnceValue<FixtureImage>()
    private static let bullseyeImage = OnceValue<FixtureImage>()
    private static let trixieImage = OnceValue<FixtureImage>()
    private static let bookwormMPICHImage = OnceValue<FixtureImage>()

    static let sources = ["hello", "pingpong", "mpi-maps"]

    private static func compileNative() throws -> MPIPrograms {
        let dir = try Staging.shared().root + "/mpi"
        try Files.makeDirectory(dir)
        for name in sources {
            try Fixtures.tool(["mpicc.openmpi", "-O2", "-o", dir + "/" + name, try sourcePath(name)])
        }
        try Files.makeWorldReadable(dir)
        return MPIPrograms(directory: dir)
    }

    private static func buildDebian12MPICH() throws -> FixtureImage {
        let rootfs = try DebianRootfs.tarball("bookworm", including: ["libmpich12"])
        return try buildImage(name: "fixtures/debian-mpich", tag: "12", rootfs: rootfs) { dir in
            let programs = dir + "/programs"
            try Files.makeDirectory(programs)
            for name in sources {
                try Fixtures.tool(["mpicc.mpich", "-O2", "-o", programs + "/" + name, try sourcePath(name)])
            }
            return MPIPrograms(directory: programs)
        }
    }

    private static func buildDebian12() throws -> FixtureImage {
        let rootfs = try DebianRootfs.tarball("bookworm", including: ["libopenmpi3", "openmpi-bin"])
        let programs = try native()
        return try buildImage(tag: "12", rootfs: rootfs) { _ in programs }
    }

    private static func buildDebian11() throws -> FixtureImage {
        try buildWithSysroot(suite: "bullseye", tag: "11")
    }

    private static func buildDebian13() throws -> FixtureImage {
        try buildWithSysroot(suite: "trixie", tag: "13")
    }

    /// A Debian root with its own Open MPI and development files, and the programs compiled against them.
    private static func buildWithSysroot(suite: String, tag: String) throws -> FixtureImage {
        let rootfs = try DebianRootfs.tarball(suite, including: ["libopenmpi-dev", "libc6-dev", "openmpi-bin"])
        return try buildImage(tag: tag, rootfs: rootfs) { dir in
            let sysroot = dir + "/sysroot", libraries = sysroot + "/usr/lib/x86_64-linux-gnu"
            try Files.makeDirectory(sysroot)
            defer { Files.removeTree(sysroot) }
            try Fixtures.tool(["tar", "-xf", rootfs, "-C", sysroot, "--exclude=./dev/*"])
            try anchorAbsoluteLinks(in: sysroot)
            let programs = dir + "/programs"
            try Files.makeDirectory(programs)
            for name in sources {
                // -B and -L: the root's start files and libraries before the host gcc's own multiarch ones.
                try Fixtures.tool(["gcc", "--sysroot=" + sysroot, "-B", libraries + "/", "-O2", "-I", libraries + "/openmpi/include",
                                   "-o", programs + "/" + name, try sourcePath(name), "-L", libraries + "/openmpi/lib",
                                   "-L", libraries, "-L", sysroot + "/lib/x86_64-linux-gnu", "-lmpi"])
            }
            return MPIPrograms(directory: programs)
        }
    }

    /// `fixtures/debian-mpi:TAG` from a Debian root tarball (its ./dev/* entries dropped: device nodes have no
    /// place in an image) and the programs `compile` makes in the fixture's directory.
    private static func buildImage(name: String = "fixtures/debian-mpi", tag: String, rootfs: String,
                                   compile: (String) throws -> MPIPrograms) throws -> FixtureImage {
        let dir = try Fixtures.fixturesDirectory(name + "-" + tag)
        let layout = dir + "/oci", image = layout + ":" + tag
        try Fixtures.tool(["umoci", "init", "--layout", layout])
        try Fixtures.tool(["umoci", "new", "--image", image])

        let base = dir + "/rootfs.tar"
        try Files.copy(rootfs, to: base, mode: 0o644)
        try Fixtures.tool(["tar", "--delete", "--wildcards", "-f", base, "./dev/?*"])
        try Fixtures.tool(["umoci", "raw", "add-layer", "--image", image, base])
        try FileManager.default.removeItem(atPath: base)

        let programs = try compile(dir)
        var layer = TarBuilder()
        layer.directory("opt")
        layer.directory("opt/mpi")
        for (path, program) in [(helloPath, programs.hello), (pingpongPath, programs.pingpong), (mapsPath, programs.maps)] {
            layer.file(String(path.dropFirst()), try Data(contentsOf: URL(fileURLWithPath: program)), mode: 0o755)
        }
        try Fixtures.addLayer(layer, to: image, in: dir)
        try Fixtures.tool(["umoci", "config", "--image", image, "--config.cmd", helloPath,
                           "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        return try Fixtures.finish(name: name, tag: tag, dir: dir)
    }

    /// Points the root's absolute symlinks (/lib64/ld-linux-x86-64.so.2 → /lib/…) into the root itself, where the
    /// linker, which follows them on the host, must find their targets.
    private static func anchorAbsoluteLinks(in root: String) throws {
        for link in try Fixtures.tool(["find", root, "-lname", "/*"]).lines {
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: link)
            try FileManager.default.removeItem(atPath: link)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: root + target)
        }
    }

    /// examples/mpi/NAME.c, or the tests' own probe written into the staging area.
    private static func sourcePath(_ name: String) throws -> String {
        guard name == "mpi-maps" else { return Staging.packageRoot + "/examples/mpi/" + name + ".c" }
        let path = try Staging.shared().root + "/mpi-maps.c"
        if !Files.exists(path) { try Files.write(mapsSource, to: path) }
        return path
    }

    /// After MPI_Init: the rank, the size, and the device, inode and path of the MPI library mapped (the first
    /// mapping whose file name starts with libmpi. or libmpich.), as /proc/self/maps gives them.
    static let mapsSource = #"""
        #include <mpi.h>
        #include <stdio.h>
        #include <string.h>

        int main(int argc, char **argv)
        {
            int rank, size;
            char line[4096], found[4096] = "none";
            MPI_Init(&argc, &argv);
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            MPI_Comm_size(MPI_COMM_WORLD, &size);
            FILE *maps = fopen("/proc/self/maps", "r");
            while (maps && fgets(line, sizeof line, maps)) {
                char address[64], perms[8], offset[32], device[32], path[4000] = "";
                unsigned long inode;
                if (sscanf(line, "%63s %7s %31s %31s %lu %3999s", address, perms, offset, device, &inode, path) < 6) continue;
                const char *name = strrchr(path, '/');
                name = name ? name + 1 : path;
                if (strncmp(name, "libmpi.", 7) == 0 || strncmp(name, "libmpich.", 9) == 0) {
                    snprintf(found, sizeof found, "%s %lu %s", device, inode, path);
                    break;
                }
            }
            printf("rank %d of %d maps %s\n", rank, size, found);
            MPI_Finalize();
            return 0;
        }
        """#
}

/// The compiled examples/mpi programs in one directory.
public struct MPIPrograms: Sendable {
    public let directory: String
    /// Prints `hello from rank R of N on HOST`, one line per rank.
    public var hello: String { directory + "/hello" }
    /// Ping-pong between ranks 0 and 1, 8 B to 4 MiB: rank 0 prints a `#` comment line, then one line per size,
    /// `SIZE HALF_RTT_US BANDWIDTH_MBPS`.
    public var pingpong: String { directory + "/pingpong" }
    /// The tests' probe (`MPIFixtures.mapsPath`).
    public var maps: String { directory + "/mpi-maps" }
}
