import CHwloc
import Foundation

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
        try withTopology(devices: false) { topology in
            let pus = objects(topology, HWLOC_OBJ_PU).map { Int($0.pointee.os_index) }.sorted()
            let cores = objects(topology, HWLOC_OBJ_CORE).map { members($0.pointee.cpuset) }
            let nodes = objects(topology, HWLOC_OBJ_NUMANODE).map {
                NumaNode(index: Int($0.pointee.os_index), processingUnits: members($0.pointee.cpuset))
            }
            return HostTopology(processingUnits: pus, cores: cores, numaNodes: nodes)
        }
    }

    /// An NVIDIA GPU and the part of the host nearest it: where a rank using it should run (`--bind=gpu`).
    public struct GPULocality: Sendable, Equatable {
        /// PCI address, e.g. 0000:3b:00.0.
        public let pciBusID: String
        /// NUMA nodes (OS indexes) and processing units of the GPU's nearest non-I/O ancestor (its package or
        /// NUMA node): empty when hwloc cannot tell.
        public let numaNodes: [Int]
        public let processingUnits: [Int]
    }

    /// The host's NVIDIA GPUs (PCI vendor 0x10de, display or 3D controllers) in PCI bus order — nvidia-smi's
    /// numbering and CUDA's with CUDA_DEVICE_ORDER=PCI_BUS_ID — each with the cores nearest it by PCI locality.
    /// Empty on a host without one.
    public static func nvidiaGPUs() throws -> [GPULocality] {
        try withTopology(devices: true) { topology in
            objects(topology, HWLOC_OBJ_PCI_DEVICE).compactMap { device -> GPULocality? in
                guard let pci = device.pointee.attr?.pointee.pcidev, pci.vendor_id == 0x10de, pci.class_id >> 8 == 0x03 else { return nil }
                let ancestor = hwloc_get_non_io_ancestor_obj(topology, device)
                let address = String(format: "%04x:%02x:%02x.%x", pci.domain, pci.bus, pci.dev, pci.func)
                return GPULocality(pciBusID: address, numaNodes: members(ancestor?.pointee.nodeset),
                                   processingUnits: members(ancestor?.pointee.cpuset))
            }.sorted { $0.pciBusID < $1.pciBusID }
        }
    }

    /// A loaded topology for `body`; with `devices`, PCI devices are kept (hwloc filters them out by default).
    private static func withTopology<T>(devices: Bool, _ body: (hwloc_topology_t) throws -> T) throws -> T {
        try HwlocRuntime.load()
        var topology: hwloc_topology_t?
        guard initWithoutUnusedPlugins(&topology) == 0, let topology else {
            throw UdockerError(.internalError, "hwloc cannot initialise a topology")
        }
        defer { hwloc_topology_destroy(topology) }
        if devices { hwloc_topology_set_io_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) }
        guard hwloc_topology_load(topology) == 0 else {
            throw UdockerError(.internalError, "hwloc cannot read this host's topology")
        }
        return try body(topology)
    }

    /// hwloc_topology_init, which loads every hwloc plugin installed. Three of Debian's pull in libxml2 and ICU, X11
    /// and OpenCL (~1.8 ms of every pinned rank's start) for XML export, GL displays and OpenCL devices, none of
    /// which udocker asks for; they are left out unless the user set a blacklist of their own. The variable is set
    /// for the call only, so it never reaches a container's environment.
    private static func initWithoutUnusedPlugins(_ topology: inout hwloc_topology_t?) -> Int32 {
        let variable = "HWLOC_PLUGINS_BLACKLIST"
        guard getenv(variable) == nil else { return hwloc_topology_init(&topology) }
        setenv(variable, "hwloc_xml_libxml,hwloc_gl,hwloc_opencl", 1)
        defer { unsetenv(variable) }
        return hwloc_topology_init(&topology)
    }

    private static func objects(_ topology: hwloc_topology_t, _ type: hwloc_obj_type_t) -> [hwloc_obj_t] {
        let count = max(0, hwloc_get_nbobjs_by_type(topology, type))
        return (0..<count).compactMap { hwloc_get_obj_by_type(topology, type, UInt32($0)) }
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

/// libhwloc, loaded once per process before the first topology (see OnDemandLibrary).
enum HwlocRuntime {
    static func load() throws { if let failure { throw failure } }

    private static let failure: UdockerError? =
        OnDemandLibrary.load("libhwloc.so.15", neededFor: "reading the host's CPU and GPU topology", install: "hwloc 2 (Debian: libhwloc15)",
                             ud_hwloc_load)
}
