import Foundation
import TestSupport
import Testing
@testable import UdockerCore

/// The glibc level F modes compare (the guest libc's highest GLIBC_2.N against what a libfakechroot needs), read
/// from the ELF version sections: the same answers the whole-file scan gave, on the real libcs of the Debian
/// roots the tests build and on the host's libraries, checked against binutils' readelf.
@Suite struct GlibcLevelTests {
    /// The highest GLIBC_2.N that `readelf -V` lists for `path` (definitions and needs); nil when readelf is absent.
    static func readelfLevel(_ path: String) throws -> Int? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/readelf") else { return nil }
        let result = try Command.run(["/usr/bin/readelf", "-V", "--wide", path])
        try #require(result.succeeded, "\(result)")
        return GlibcLevel.highest(ofVersions: result.out.split(whereSeparator: { " \t\n".contains($0) })
            .map(String.init).filter { $0.hasPrefix("GLIBC_2.") })
    }

    /// libc.so.6 of a Debian root tarball, extracted into `dir` (bullseye keeps it in /lib as a link to libc-2.31.so).
    static func libc(of tarball: String, in dir: String) throws -> String {
        let tar = try Command.run(["tar", "-xf", tarball, "-C", dir, "--wildcards", "*x86_64-linux-gnu/libc[.-]*"],
                                  timeout: .seconds(120))
        try #require(tar.succeeded, "\(tar)")
        let found = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"].map { dir + $0 }
            .first { FileManager.default.fileExists(atPath: $0) }
        return try #require(found, "no libc.so.6 in \(tarball)")
    }

    /// Debian 11, 12 and 13 as other tests build them (cached for the day), so that no extra root is built.
    @Test(arguments: [("bullseye", [], 30), ("bookworm", [], 36), ("trixie", ["libopenmpi-dev", "libc6-dev", "openmpi-bin"], 41)])
    func aDebianLibcDefinesTheVersionsOfItsRelease(suite: String, packages: [String], level: Int) throws {
        let tarball = try DebianRootfs.tarball(suite, including: packages)
        let dir = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udglibc-")
        defer { try? FileSystem.removeTree(dir) }
        let libc = try Self.libc(of: tarball, in: dir)

        let elf = try #require(ElfFile(path: libc))
        #expect(elf.versionsDefined.first == "libc.so.6" && elf.versionsDefined.contains("GLIBC_PRIVATE"), "\(elf.versionsDefined)")
        #expect(GlibcLevel.highest(in: libc) == level)
        if let oracle = try Self.readelfLevel(libc) { #expect(oracle == level) }
    }

    @Test func hostLibrariesReadAsReadelfListsThem() throws {
        let candidates = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6",
                          "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
                          "/usr/lib/x86_64-linux-gnu/fakechroot/libfakechroot.so", "/usr/bin/proot", "/usr/bin/patchelf"]
        let present = candidates.filter { FileManager.default.fileExists(atPath: $0) }
        try #require(present.count >= 3, "too few of \(candidates) on this host")
        guard try Self.readelfLevel(present[0]) != nil else {
            print("skipped: /usr/bin/readelf (binutils) is not installed")
            return
        }
        for path in present {
            #expect(GlibcLevel.highest(in: path) == (try Self.readelfLevel(path)), "\(path)")
        }
    }

    @Test func aTruncatedOrForeignFileReadsAsNoLevelWithoutCrashing() throws {
        let dir = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udglibc-")
        defer { try? FileSystem.removeTree(dir) }
        let libc = try FileSystem.read("/usr/lib/x86_64-linux-gnu/libc.so.6")
        for size in [0, 16, 64, 4096, 100_000] {
            try FileSystem.atomicWrite(libc.prefix(size), to: dir + "/cut")
            #expect(GlibcLevel.highest(in: dir + "/cut") == nil, "cut at \(size)")
        }
        try FileSystem.atomicWrite("GLIBC_2.99\u{0}", to: dir + "/text")
        #expect(GlibcLevel.highest(in: dir + "/text") == nil)
        #expect(GlibcLevel.highest(in: dir + "/missing") == nil)
        #expect(GlibcLevel.highest(in: dir) == nil)
    }
}
