import Foundation
import Testing
import TestSupport
import CommandExpectations

/// Our udocker and udocker 1.3.17 (the Python original) on one repository, both ways: what either writes, the
/// other lists, creates from and runs; names made by either resolve in the other; listings look the same.
@Suite struct InteropTests {
    /// Checks a container of the busybox fixture, run by `runner`: the files the image holds, in their final state.
    private func expectBusyboxContents(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.succeeded, "\(result)", sourceLocation: sourceLocation)
        #expect(result.lines.first == "busybox fixture", "\(result)", sourceLocation: sourceLocation)
    }

    private let probe = ["/bin/cat", "/etc/fixture-release"]

    @Test(arguments: [ArchiveForm.dockerSave, .ociLayout])
    func imageLoadedByReferenceIsListedCreatedAndRunByOurs(form: ArchiveForm) throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        let loaded = try sandbox.referenceUdocker(form.loadArguments(image))
        try requireSuccess(loaded)
        #expect(try sandbox.listedImages() == [form.expectedReference(image)])

        let created = try sandbox.udocker("create", "--name=ours", form.expectedReference(image))
        try requireSuccess(created)
        let run = try sandbox.runIn("ours", ["/bin/sh", "-c", "cat /etc/fixture-release; cat /opq/fresh; ls /opq; test -e /data/old.txt || echo old-gone"])
        expectSuccess(run)
        #expect(run.lines == ["busybox fixture", "fresh in layer 3", "fresh", "old-gone"], "\(run)")
    }

    @Test func imageLoadedAndContainerCreatedByOursAreListedAndRunByReference() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        let id = try sandbox.createContainer("made-by-ours", from: image)

        let images = try sandbox.referenceUdocker("images")
        expectSuccess(images)
        #expect(images.lines.contains("\(image.reference)    ."), "\(images)")
        let ps = try sandbox.referenceUdocker("ps")
        expectSuccess(ps)
        #expect(ps.lines.contains { $0.hasPrefix(id) && $0.contains("['made-by-ours']") }, "\(ps)")

        expectBusyboxContents(try sandbox.referenceUdocker(["run", "--nobanner", "made-by-ours"] + probe))
        // 1.3.17 creates its own container from our image too.
        try requireSuccess(sandbox.referenceUdocker("create", "--name=theirs-from-ours", image.reference))
        expectBusyboxContents(try sandbox.referenceUdocker(["run", "--nobanner", "theirs-from-ours"] + probe))
    }

    @Test func containerCreatedByReferenceIsListedAndRunByOurs() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try requireSuccess(sandbox.referenceUdocker(ArchiveForm.dockerSave.loadArguments(image)))
        let created = try sandbox.referenceUdocker("create", "--name=theirs", image.reference)
        try requireSuccess(created)
        let id = created.out.trimmingCharacters(in: .whitespacesAndNewlines)

        #expect(try sandbox.listedContainers() == [id])
        expectBusyboxContents(try sandbox.runIn("theirs", probe))
        let exit = try sandbox.shell("theirs", "exit 7")
        #expect(exit.status == 7, "\(exit)")
    }

    @Test func namesGivenByEitherResolveInTheOther() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try requireSuccess(sandbox.referenceUdocker(ArchiveForm.dockerSave.loadArguments(image)))
        let id = try #require(sandbox.referenceUdocker("create", image.reference).out
            .split(separator: "\n").last.map(String.init))

        try requireSuccess(sandbox.referenceUdocker("name", id, "named-by-reference"))
        expectBusyboxContents(try sandbox.runIn("named-by-reference", probe))
        try requireSuccess(sandbox.udocker("rename", "named-by-reference", "renamed-by-ours"))
        expectBusyboxContents(try sandbox.referenceUdocker(["run", "--nobanner", "renamed-by-ours"] + probe))
        try requireSuccess(sandbox.udocker("name", id, "named-by-ours"))
        try requireSuccess(sandbox.referenceUdocker("rmname", "renamed-by-ours"))

        let ours = try sandbox.udocker("ps")
        #expect(ours.lines.contains { $0.hasPrefix(id) && $0.contains("['named-by-ours']") }, "\(ours)")
        let theirs = try sandbox.referenceUdocker("ps")
        #expect(theirs.lines.contains { $0.hasPrefix(id) && $0.contains("['named-by-ours']") }, "\(theirs)")
    }

    /// `images`, `images -p`, `ps`, `ps -m` and `ps -m -s` print the same lines as 1.3.17's on the same
    /// repository (1.3.17 lists in directory order, so lines are compared as sets).
    @Test func listingsMatchTheReference() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try requireSuccess(sandbox.referenceUdocker(ArchiveForm.dockerSave.loadArguments(image)))
        try requireSuccess(sandbox.referenceUdocker("create", "--name=first", image.reference))
        try sandbox.createContainer("second", from: try Fixtures.busyboxExtra())
        try requireSuccess(sandbox.udocker("protect", "second"))
        try requireSuccess(sandbox.udocker("setup", "--execmode=P2", "second"))

        for arguments in [["images"], ["images", "-p"], ["ps"], ["ps", "-m"], ["ps", "-m", "-s"]] {
            let ours = try sandbox.udocker(arguments), theirs = try sandbox.referenceUdocker(arguments)
            expectSuccess(ours)
            expectSuccess(theirs)
            #expect(ours.lines.first == theirs.lines.first, "header of \(arguments)\nours:\n\(ours.out)theirs:\n\(theirs.out)")
            #expect(Set(ours.lines) == Set(theirs.lines), "\(arguments)\nours:\n\(ours.out)theirs:\n\(theirs.out)")
        }
    }
}

/// The tarball forms both implementations load.
enum ArchiveForm: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case dockerSave, ociLayout

    var testDescription: String { rawValue }

    /// `load` arguments. An OCI layout's tag annotation names no repository, so one is given.
    func loadArguments(_ image: FixtureImage) -> [String] {
        switch self {
        case .dockerSave: return ["load", "-i", image.dockerArchive]
        case .ociLayout: return ["load", "-i", image.ociArchive, image.name + "-oci"]
        }
    }

    func expectedReference(_ image: FixtureImage) -> String {
        switch self {
        case .dockerSave: return image.reference
        case .ociLayout: return image.name + "-oci:" + image.tag
        }
    }
}
