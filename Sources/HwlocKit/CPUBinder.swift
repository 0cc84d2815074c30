import CHwloc

/// Pins threads to cores. Owns a loaded topology for as long as it lives; binding from several
/// threads at once is safe (hwloc only reads the topology to bind).
public final class CPUBinder: @unchecked Sendable {
    private let topology: hwloc_topology_t
    public let coreCount: Int

    public init() throws(HwlocError) {
        var handle: hwloc_topology_t?
        guard hwloc_topology_init(&handle) == 0, let topology = handle else { throw HwlocError(call: "hwloc_topology_init") }
        guard hwloc_topology_load(topology) == 0 else {
            hwloc_topology_destroy(topology)
            throw HwlocError(call: "hwloc_topology_load")
        }
        self.topology = topology
        coreCount = max(1, Int(hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE)))
    }

    deinit { hwloc_topology_destroy(topology) }

    /// Core indices (as `bindCurrentThread` takes them) of each NUMA node, in node order.
    public var coresByNUMANode: [[Int]] {
        let nodes = Int(hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE))
        return (0..<nodes).compactMap { nodeIndex -> [Int]? in
            guard let node = hwloc_get_obj_by_type(topology, HWLOC_OBJ_NUMANODE, UInt32(nodeIndex)) else { return nil }
            return (0..<coreCount).filter { coreIndex in
                guard let core = hwloc_get_obj_by_type(topology, HWLOC_OBJ_CORE, UInt32(coreIndex)) else { return false }
                return hwloc_bitmap_intersects(core.pointee.cpuset, node.pointee.cpuset) != 0
            }
        }
    }

    /// Binds the calling thread to core `index` (modulo the core count); false if the OS refused.
    @discardableResult
    public func bindCurrentThread(toCore index: Int) -> Bool {
        guard let core = hwloc_get_obj_by_type(topology, HWLOC_OBJ_CORE, UInt32(index % coreCount)) else { return false }
        return hwloc_set_cpubind(topology, core.pointee.cpuset, Int32(HWLOC_CPUBIND_THREAD.rawValue)) == 0
    }
}
