import Foundation
import Testing
import TestSupport
import CommandExpectations

/// A quick test on the login node: a program run by the launcher outside any process manager is an MPI singleton,
/// and with the host's Open MPI bound (the default where it fits) the singleton forks the host's `orted`, which is
/// bound with it (OPAL_PREFIX/bin). The host-compiled hello is bound with -v, as a user's own program would be.
@Suite struct HostMPISingletonTests {
    @Test(arguments: ["U1", "F3"])
    func aHostMPISingletonStartsOutsideAnyProcessManager(_ mode: String) throws {
        let node = try LaunchNode()
        let image = try MPIFixtures.debian12()
        try node.sandbox.load(image)
        let programs = try MPIFixtures.native()
        let directory = (programs.hello as NSString).deletingLastPathComponent
        let arguments = ["--execmode=" + mode, "-v", directory + ":" + directory, image.reference, "--", programs.hello]

        let plan = try node.launch(["--dry-run"] + arguments)
        try requireSuccess(plan)
        #expect(plan.out.contains("host"), "the host's MPI is not the one bound: \(plan)")

        let result = try node.launch(arguments, timeout: .seconds(120))
        try requireSuccess(result)
        #expect(result.out.hasPrefix("hello from rank 0 of 1"), "\(result)")
        #expect(!result.err.contains("ORTE_ERROR_LOG"), "\(result)")
    }
}
