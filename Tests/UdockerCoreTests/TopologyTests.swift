import Foundation
import TestSupport
import Testing
@testable import UdockerCore

@Suite struct TopologyTests {
    @Test func hwlocSeesTheProcessorsTheKernelReports() throws {
        let topology = try HostTopology.discover()
        #expect(topology.processingUnits.count == sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        // Every processing unit is in exactly one core, and in exactly one NUMA node.
        #expect(topology.cores.flatMap { $0 }.sorted() == topology.processingUnits)
        #expect(topology.numaNodes.flatMap(\.processingUnits).sorted() == topology.processingUnits)
    }

    @Test func hwlocAgreesWithLibnumaAndHwlocCalc() throws {
        let topology = try HostTopology.discover()
        if NumaLibrary.isAvailable {
            #expect(topology.numaNodes.count == NumaLibrary.configuredNodes)
            for node in topology.numaNodes {
                for cpu in node.processingUnits { #expect(NumaLibrary.node(ofCPU: cpu) == node.index) }
            }
        }
        let cores = try Command.run(["hwloc-calc", "--number-of", "core", "machine:0"])
        #expect(cores.succeeded, "\(cores)")
        #expect(Int(cores.out.trimmingCharacters(in: .whitespacesAndNewlines)) == topology.cores.count)
    }

    @Test(arguments: [("0-3,8", [0, 1, 2, 3, 8]), ("5", [5]), ("1,1-2", [1, 1, 2])])
    func parsesLists(text: String, cpus: [Int]) throws {
        #expect(try CPUSet.parse(text) == cpus)
    }

    @Test(arguments: ["", "a", "3-1", "-2", "1,,2", "2-", "1-2-3"])
    func rejectsBadLists(text: String) {
        #expect(throws: UdockerError.self) { try CPUSet.parse(text) }
    }

    @Test func namesACPUTheHostDoesNotHave() throws {
        let topology = HostTopology(processingUnits: [0, 1, 2, 3, 6], cores: [[0, 1], [2, 3], [6]],
                                    numaNodes: [.init(index: 0, processingUnits: [0, 1, 2, 3, 6])])
        #expect(try CPUSet.parse("1-2,6", on: topology) == [1, 2, 6])
        let error = #expect(throws: UdockerError.self) { try CPUSet.parse("2-4", on: topology) }
        #expect(error?.message == "--cpuset-cpus: CPU 4 is not on this host (CPUs 0-3,6)")
    }
}
