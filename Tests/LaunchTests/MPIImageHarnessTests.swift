import Foundation
import Testing
import TestSupport
import CommandExpectations

/// The MPI images the launcher's tests run, loaded and started by our udocker as a user would.
@Suite struct MPIImageHarnessTests {
    @Test func debian12ImageRunsItsHelloAsAnMPISingleton() throws {
        let sandbox = try Sandbox()
        let container = try Self.load(MPIFixtures.debian12(), in: sandbox, mode: "F3")
        let hello = try sandbox.udocker(["run", "--nobanner", container, MPIFixtures.helloPath])
        #expect(hello.succeeded, "\(hello)")
        #expect(try hello.lines.map(HelloLine.init).map { [$0.rank, $0.size] } == [[0, 1]], "\(hello)")
    }

    /// Debian 11's glibc is too old for fakechroot's F modes: U1 runs it. Its hello is built against its own glibc.
    @Test func debian11ImageHasGlibc231AndItsOwnHello() throws {
        let sandbox = try Sandbox()
        let container = try Self.load(MPIFixtures.debian11(), in: sandbox, mode: "U1")
        let glibc = try sandbox.udocker(["run", "--nobanner", container, "ldd", "--version"])
        #expect(glibc.lines.first?.hasSuffix(" 2.31") == true, "\(glibc)")
        let hello = try sandbox.udocker(["run", "--nobanner", container, MPIFixtures.helloPath])
        #expect(hello.succeeded, "\(hello)")
        #expect(try hello.lines.map(HelloLine.init).map { [$0.rank, $0.size] } == [[0, 1]], "\(hello)")
    }

    /// Loads `image` from its OCI archive, creates a container of it set up in `mode`; returns the container's name.
    static func load(_ image: FixtureImage, in sandbox: Sandbox, mode: String) throws -> String {
        let load = try sandbox.udocker(["load", "-i", image.ociArchive, image.name])
        try #require(load.succeeded && load.lines == [image.reference], "\(load)")
        let name = "mpi" + image.tag
        let create = try sandbox.udocker(["create", "--name=" + name, image.reference])
        try #require(create.succeeded, "\(create)")
        let setup = try sandbox.udocker(["setup", "--execmode=" + mode, name])
        try #require(setup.succeeded, "\(setup)")
        return name
    }
}
