import CHwloc

/// The host's processors as hwloc sees them: processing units (hardware threads) by OS index, grouped into cores
/// and NUMA nodes. What `--cpuset-cpus` is checked against, and what rank pinning will be planned on.
/// The only file that sees CHwloc.
public struct HostTopology: Sendable, Equatable {
    public struct NumaNode: Sendable, Equatable {
        public let index: Int
        public let processingUnits: [Int]
    }

    /// OS indexes of the processing units, ascending.
    public let processingUnits: [Int]
    /// Each core's processing units.
    public let cores: [[Int]]
    public let numaNodes: [NumaNode]

    public static func discover() throws -> HostTopology {
        var topology: hwloc_topology_t?
        guard hwloc_topology_init(&topology) == 0, let topology else {
            throw UdockerError(.internalError, "hwloc cannot initialise a topology")
        }
        defer { hwloc_topology_destroy(topology) }
        guard hwloc_topology_load(topology) == 0 else {
            throw UdockerError(.internalError, "hwloc cannot read this host's topology")
        }
        func objects(_ type: hwloc_obj_type_t) -> [hwloc_obj_t] {
            let count = max(0, hwloc_get_nbobjs_by_type(topology, type))
            return (0..<count).compactMap { hwloc_get_obj_by_type(topology, type, UInt32($0)) }
        }
        let pus = objects(HWLOC_OBJ_PU).map { Int($0.pointee.os_index) }.sorted()
        let cores = objects(HWLOC_OBJ_CORE).map { members($0.pointee.cpuset) }
        let nodes = objects(HWLOC_OBJ_NUMANODE).map {
            NumaNode(index: Int($0.pointee.os_index), processingUnits: members($0.pointee.cpuset))
        }
        return HostTopology(processingUnits: pus, cores: cores, numaNodes: nodes)
    }

    /// The OS indexes set in an hwloc bitmap.
    private static func members(_ bitmap: hwloc_const_bitmap_t?) -> [Int] {
        guard let bitmap else { return [] }
        var result: [Int] = []
        var index = hwloc_bitmap_first(bitmap)
        while index >= 0 {
            result.append(Int(index))
            index = hwloc_bitmap_next(bitmap, index)
        }
        return result
    }
}
