import Foundation
import Testing
import TestSupport
import CommandExpectations

/// HOME and the default working directory name a directory the container has: the user's home where it is
/// there (here: bound with --bindhome), else `/` (commands.md).
@Suite struct HomeDirectoryTests {
    @Test(arguments: ["P1", "U1"])
    func homeAndTheWorkingDirectoryExistInTheContainer(_ mode: String) throws {
        let sandbox = try Sandbox()
        // An image without a WorkingDir: the busybox fixture's tree imported as one layer.
        try sandbox.createContainer("source", from: Fixtures.busybox())
        let exported = sandbox.directory + "/tree.tar"
        try requireSuccess(sandbox.udocker("export", "-o", exported, "source"))
        try requireSuccess(sandbox.udocker("import", exported, "plain:1"))
        try requireSuccess(sandbox.udocker("create", "--name=plain", "plain:1"))
        try requireSuccess(sandbox.udocker("setup", "--execmode=" + mode, "plain"))
        let script = "echo $HOME; pwd; test -d \"$HOME\" && echo exists"

        let bare = try sandbox.udocker(["run", "--nobanner", "plain", "/bin/sh", "-c", script])
        try requireSuccess(bare)
        #expect(bare.lines == ["/", "/", "exists"], "\(bare)")

        // The user's home as the host's passwd has it (what --bindhome binds).
        let passwd = try #require(getpwnam(sandbox.user.name), "no passwd entry for \(sandbox.user.name)")
        let home = String(cString: passwd.pointee.pw_dir)
        try #require(Files.isDirectory(home), "the test user's home \(home) is not on this host")
        let bound = try sandbox.udocker(["run", "--nobanner", "--bindhome", "plain", "/bin/sh", "-c", script])
        try requireSuccess(bound)
        #expect(bound.lines == [home, home, "exists"], "\(bound)")
    }
}
