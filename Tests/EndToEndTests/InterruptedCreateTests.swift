import Foundation
import Testing
import TestSupport
import CommandExpectations

/// A `create` killed part-way leaves nothing `ps` lists: the container is built under a hidden name and only
/// renamed into place once complete.
@Suite struct InterruptedCreateTests {
    @Test func killedCreateLeavesNoContainer() throws {
        let sandbox = try Sandbox()
        let image = try Fixtures.large()
        try sandbox.load(image)
        let containers = sandbox.repositoryPath("containers")

        let create = try sandbox.startUdocker(["create", "--name=interrupted", image.reference])
        // Wait until the big layer is being extracted into a hidden directory, then kill.
        let extracting = Poll.until(timeout: .seconds(30), interval: .milliseconds(2)) {
            Files.list(containers).contains { $0.hasPrefix(".") && Files.exists(containers + "/" + $0 + "/ROOT/many") }
        }
        create.kill(SIGKILL)
        let result = create.wait()
        try #require(extracting, "create was never seen extracting into a hidden directory\n\(result)")
        #expect(result.status == 128 + SIGKILL, "\(result)")

        #expect(try sandbox.listedContainers().isEmpty)
        let visible = Files.list(containers).filter { !$0.hasPrefix(".") }
        #expect(visible.isEmpty, "visible leftovers: \(visible)")

        // The repository still works: the same create now succeeds.
        let id = try sandbox.createContainer("interrupted", from: image)
        #expect(try sandbox.listedContainers() == [id])
    }
}
