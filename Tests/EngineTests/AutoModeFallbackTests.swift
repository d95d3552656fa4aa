import Foundation
import Testing
import TestSupport
import CommandExpectations

/// A new container defaults to P1, as in udocker 1.3. Where P1 cannot run it (Debian's proot 5.1 and a Debian 12
/// guest, glibc 2.36), `udocker run` says so in one line and runs it in the fastest mode that can; where P1
/// works (a static busybox guest) it stays P1, and a P1 the user asked for is still P1's refusal.
@Suite struct AutoModeFallbackTests {
    static func sandboxWithDebian12() throws -> Sandbox {
        let sandbox = try Sandbox()
        let tarball = try DebianRootfs.tarball("bookworm")
        try requireSuccess(Command.run(["chmod", "a+r", tarball]))
        try requireSuccess(sandbox.udocker(["import", tarball, "debian:12"], timeout: .seconds(300)))
        try requireSuccess(sandbox.udocker("create", "--name=deb", "debian:12"))
        return sandbox
    }

    @Test func aDebian12ContainerAtTheDefaultRunsInTheFastestModeThatCanWithOneLineSayingSo() throws {
        let sandbox = try Self.sandboxWithDebian12()
        let ran = try sandbox.udocker(["run", "--nobanner", "deb", "/bin/sh", "-c", "cat /etc/debian_version; echo $container_execmode"])
        try requireSuccess(ran)
        #expect(ran.lines.first?.hasPrefix("12.") == true && ran.lines.last == "U1", "\(ran)")
        let warnings = ran.err.split(separator: "\n")
        #expect(warnings.count == 1 && warnings[0].hasPrefix("Warning: P1, the default mode, cannot run this container: ")
                && warnings[0].contains("glibc 2.36") && warnings[0].contains("running it in U1"), "\(ran)")
        // Nothing was recorded: the container is still at the default.
        let setup = try sandbox.udocker("setup", "deb")
        #expect(setup.out.contains("P1"), "\(setup)")

        // Asked for by name, P1 is P1: its refusal, not another mode.
        let insisted = try sandbox.udocker(["run", "--nobanner", "--execmode=P1", "deb", "true"])
        expectOneLineError(insisted)
        #expect(insisted.err.contains("cannot run this container's programs"), "\(insisted)")
        try requireSuccess(sandbox.udocker("setup", "--execmode=P1", "deb"))
        let set = try sandbox.udocker(["run", "--nobanner", "deb", "true"])
        expectOneLineError(set)
    }

    @Test func aStaticContainerAtTheDefaultStaysP1() throws {
        let sandbox = try Sandbox()
        try sandbox.load(Fixtures.busybox())
        try requireSuccess(sandbox.udocker("create", "--name=bb", try Fixtures.busybox().reference))
        let ran = try sandbox.udocker(["run", "--nobanner", "bb", "/bin/sh", "-c", "echo $container_execmode"])
        try requireSuccess(ran)
        #expect(ran.out == "P1\n" && ran.err.isEmpty, "\(ran)")
    }

    @Test func aMissingCommandIsNotTakenForP1sFault() throws {
        let sandbox = try Self.sandboxWithDebian12()
        let ran = try sandbox.udocker(["run", "--nobanner", "deb", "/no/such/program"])
        #expect(ran.status == 127 && !ran.err.contains("Warning"), "\(ran)")
    }
}
