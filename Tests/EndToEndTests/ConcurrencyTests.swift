import Foundation
import Testing
import TestSupport
import CommandExpectations
import UdockerCore

/// Many ranks of one job call udocker on a node at the same instant. Eight processes are released at once against
/// one name; exactly one wins, the others fail as a second sequential command would, and the repository is left
/// consistent: every image verifies, `ps` lists what exists, no blob nobody links, no temporary.
@Suite struct ConcurrencyTests {
    static let ranks = 8

    /// The results that succeeded; the others must each be one `Error: …` line containing `refusal`.
    func winners(_ results: [CommandResult], refusal: String, sourceLocation: SourceLocation = #_sourceLocation) -> [CommandResult] {
        let failed = results.filter { !$0.succeeded }
        for result in failed {
            expectOneLineError(result, sourceLocation: sourceLocation)
            #expect(result.err.contains(refusal), "\(result)", sourceLocation: sourceLocation)
        }
        return results.filter(\.succeeded)
    }

    @Test func createWithOneNameHasOneWinnerAndNoOrphans() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        let results = try sandbox.udockerAtOnce(Array(repeating: ["create", "--name=same", image.reference], count: Self.ranks))
        let won = winners(results, refusal: "container name already exists: same")
        try #require(won.count == 1, "\(results)")
        let id = won[0].out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try sandbox.listedContainers() == [id])
        #expect(try sandbox.runIn("same", ["/bin/echo", "ran"]).out == "ran\n")
        try sandbox.expectConsistentRepository()
    }

    @Test func forcedCreateWithOneNameMovesTheNameToOneOfThem() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        let results = try sandbox.udockerAtOnce(Array(repeating: ["create", "--force", "--name=same", image.reference],
                                                      count: Self.ranks))
        // As when run one after the other: every create succeeds, and the name ends on one of the new containers.
        #expect(results.allSatisfy { $0.succeeded }, "\(results)")
        let ids = Set(results.map { $0.out.trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(Set(try sandbox.listedContainers()) == ids)
        let named = try sandbox.udocker("ps").lines.filter { $0.contains("['same']") }
        #expect(named.count == 1, "\(named)")
        try sandbox.expectConsistentRepository()
    }

    @Test func importsOfDifferentTarballsToOneTagHaveOneWinner() throws {
        let sandbox = try Sandbox()
        let dir = try sandbox.makeDirectory("tarballs")
        let tarballs = try (0..<Self.ranks).map { index in
            let path = dir + "/variant-\(index).tar"
            try Files.write(CraftedArchive.layer("variant \(index)"), to: path)
            return path
        }
        let results = try sandbox.udockerAtOnce(tarballs.map { ["import", $0, "race:1"] })
        let won = winners(results, refusal: "image already exists: race:1")
        try #require(won.count == 1, "\(results)")
        #expect(try sandbox.listedImages() == ["race:1"])
        #expect(sandbox.blobs().count == 2, "one layer and one configuration: \(sandbox.blobs())")
        try sandbox.expectConsistentRepository()
        try requireSuccess(sandbox.udocker("rmi", "race:1"))
        #expect(sandbox.blobs().isEmpty)
    }

    @Test func loadsOfDifferentArchivesToOneTagHaveOneWinner() throws {
        let sandbox = try Sandbox()
        let dir = try sandbox.makeDirectory("archives")
        let archives = try (0..<Self.ranks).map { index in
            let path = dir + "/variant-\(index).tar"
            try Files.write(CraftedArchive.dockerSave(repoTags: ["race:1"], layers: [CraftedArchive.layer("variant \(index)")]),
                            to: path)
            return path
        }
        let results = try sandbox.udockerAtOnce(archives.map { ["load", "-i", $0] })
        let won = winners(results, refusal: "image already exists: race:1")
        try #require(won.count == 1, "\(results)")
        #expect(try sandbox.listedImages() == ["race:1"])
        try sandbox.expectConsistentRepository()
        try requireSuccess(sandbox.udocker("rmi", "race:1"))
        #expect(sandbox.blobs().isEmpty)
    }

    @Test func tagsToOneNameHaveOneWinner() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        let results = try sandbox.udockerAtOnce(Array(repeating: ["tag", image.reference, "race:2"], count: Self.ranks))
        #expect(winners(results, refusal: "image already exists: race:2").count == 1, "\(results)")
        #expect(try sandbox.listedImages() == [image.reference, "race:2"])
        try sandbox.expectConsistentRepository()
    }

    /// `nest:1` and `nest/1:2` would share a directory: whichever is stored first, the other is refused.
    @Test func collidingNamesNeverBothLand() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.busybox()
        try sandbox.load(image)
        let targets = (0..<Self.ranks).map { $0 % 2 == 0 ? "nest:1" : "nest/1:2" }
        let results = try sandbox.udockerAtOnce(targets.map { ["tag", image.reference, $0] })
        #expect(results.filter(\.succeeded).count == 1, "\(results)")
        let listed = try sandbox.listedImages()
        #expect(listed.count == 2 && (listed.contains("nest:1") != listed.contains("nest/1:2")), "\(listed)")
        try sandbox.expectConsistentRepository()
    }
}
