import Foundation
import Testing
@testable import UdockerCore

/// Mode set-up walks the whole container: like rm, clone and export, it must reach paths deeper than PATH_MAX.
@Suite struct ModeSetupTests {
    /// A container directory whose ROOT holds 25 directories of 200-byte names; returns it and the bottom's descriptor.
    func deepContainer() throws -> (directory: String, bottom: Int32) {
        let directory = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udsetup-")
        try FileSystem.makeDirectories(directory + "/ROOT")
        var fd = open(directory + "/ROOT", O_RDONLY | O_DIRECTORY)
        for _ in 0..<25 {
            let name = String(repeating: "d", count: 200)
            try #require(mkdirat(fd, name, 0o755) == 0)
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        return (directory, fd)
    }

    @Test func linkConversionAndItsUndoingReachBeyondPathMax() throws {
        let (directory, bottom) = try deepContainer()
        defer { close(bottom); try? FileSystem.removeTree(directory) }
        try #require(symlinkat("/etc/passwd", bottom, "absolute") == 0)
        let setup = FakechrootSetup(containerDir: directory, root: directory + "/ROOT", patchelf: nil)

        try setup.convertLinks(force: false)
        let relative = try DescriptorCalls.display(DescriptorCalls.readLink(Array("absolute".utf8CString), in: bottom))
        #expect(relative == Array(repeating: "..", count: 25).joined(separator: "/") + "/etc/passwd")
        try setup.restoreLinks()
        #expect(try DescriptorCalls.display(DescriptorCalls.readLink(Array("absolute".utf8CString), in: bottom)) == "/etc/passwd")
    }

    @Test func fixPermissionsReachesBeyondPathMax() throws {
        let (directory, bottom) = try deepContainer()
        defer { close(bottom); try? FileSystem.removeTree(directory) }
        let file = openat(bottom, "read-only", O_WRONLY | O_CREAT, 0o444)
        try #require(file >= 0)
        close(file)
        ModeSetup.fixPermissions(root: directory + "/ROOT")
        var st = stat()
        try #require(fstatat(bottom, "read-only", &st, 0) == 0)
        #expect(st.st_mode & 0o777 == 0o644)
    }
}
