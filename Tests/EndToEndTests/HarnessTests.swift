import Foundation
import Testing
import TestSupport

/// The harness itself: if these fail, every other end-to-end result is suspect.
@Suite struct HarnessTests {
    @Test func commandKeepsStdoutStderrAndStatusApart() throws {
        let result = try Command.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(result.status == 3)
        #expect(result.out == "out\n")
        #expect(result.err == "err\n")
    }

    @Test func commandFeedsStdinLargerThanAPipe() throws {
        let input = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0) })
        let result = try Command.run(["/bin/cat"], stdin: input)
        #expect(result.status == 0)
        #expect(result.stdout == input)
    }

    @Test func aChildIgnoringItsStdinDoesNotHurtTheTestProcess() throws {
        let result = try Command.run(["/bin/sh", "-c", "exec 0<&-; echo done"], stdin: Data(count: 1 << 20))
        #expect(result.status == 0)
        #expect(result.out == "done\n")
    }

    @Test func commandTimeoutKillsTheWholeGroup() throws {
        let start = ContinuousClock.now
        let result = try Command.run(["/bin/sh", "-c", "sleep 30 & sleep 30"], timeout: .milliseconds(300))
        #expect(result.timedOut)
        #expect(result.status == 128 + SIGKILL)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func commandTimeoutAppliesToAChildThatClosedItsOutput() throws {
        let result = try Command.run(["/bin/sh", "-c", "exec >&- 2>&-; sleep 30"], timeout: .milliseconds(300))
        #expect(result.timedOut)
        #expect(result.status == 128 + SIGKILL)
    }

    @Test func testUserIsUnprivilegedAndGetsOnlyTheGivenEnvironment() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(["/bin/sh", "-c", "id -u; echo $HOME; echo ${SECRET-unset}"])
        #expect(result.lines == ["\(sandbox.user.uid)", sandbox.home, "unset"], "\(result)")
        #expect(sandbox.user.uid != 0)
        #expect(try sandbox.run(["/usr/bin/touch", sandbox.home + "/writable"]).succeeded)
    }

    @Test func busyboxFixtureHasTheLayersTheTestsRelyOn() throws {
        let image = try Fixtures.busybox()
        #expect(image.layerDigests.count == 3)
        #expect(image.diffIDs.count == 3)
        func entries(_ digest: String) throws -> [String] {
            let blob = image.ociLayout + "/blobs/" + digest.replacingOccurrences(of: ":", with: "/")
            return try Command.run(["tar", "-tzf", blob]).lines
        }
        #expect(try entries(image.layerDigests[0]).contains("bin/busybox"))
        let layer2 = try entries(image.layerDigests[1])
        #expect(layer2.contains(".wh.tobedeleted") && layer2.contains("data/.wh.old.txt"), "\(layer2)")
        #expect(try entries(image.layerDigests[2]) == ["opq/", "opq/.wh..wh..opq", "opq/fresh"])
    }

    @Test func dockerSaveArchiveHasTheClassicLayout() throws {
        let image = try Fixtures.busybox()
        let listing = try Command.run(["tar", "-tvf", image.dockerArchive]).lines
        let layerFiles = listing.filter { $0.hasSuffix("/layer.tar") }
        #expect(layerFiles.count == 3 && layerFiles.allSatisfy { $0.hasPrefix("-") }, "\(listing)")
        let manifest = try Command.run(["tar", "-xOf", image.dockerArchive, "manifest.json"]).out
        #expect(manifest.contains("\"fixtures/busybox:latest\""), "\(manifest)")
    }

    @Test func derivedFixturesShareTheBaseBlobs() throws {
        let base = try Fixtures.busybox(), extra = try Fixtures.busyboxExtra()
        #expect(Array(extra.layerDigests.prefix(3)) == base.layerDigests)
        #expect(extra.layerDigests.count == 4)
    }
}
