import CNuma

/// What the kernel's NUMA interface says through libnuma; hwloc's view (HostTopology) is checked against it.
/// The only file that sees CNuma.
public enum NumaLibrary {
    /// False when libnuma cannot be loaded (it is opened on first use) or the kernel has no NUMA support; the
    /// other answers mean nothing then.
    public static var isAvailable: Bool { loaded && numa_available() != -1 }

    private static let loaded: Bool = OnDemandLibrary.load("libnuma.so.1", neededFor: "NUMA queries", install: "libnuma1", ud_numa_load) == nil

    /// Nodes that have memory or CPUs configured.
    public static var configuredNodes: Int { Int(numa_num_configured_nodes()) }

    /// The node a CPU belongs to, or nil for a CPU the kernel does not know.
    public static func node(ofCPU cpu: Int) -> Int? {
        let node = numa_node_of_cpu(Int32(cpu))
        return node < 0 ? nil : Int(node)
    }
}
