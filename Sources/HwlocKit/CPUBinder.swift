import CHwloc

/// Pins threads to cores. Owns a loaded topology for as long as it lives; binding from several
/// threads at once is safe (hwloc only reads the topology to bind).
public final class CPUBinder: @unchecked Sendable {
    private let topology: LoadedTopology
    private let cores: [hwloc_obj_t]
    public var coreCount: Int { cores.count }

    public init() throws(HwlocError) {
        topology = try LoadedTopology(keepingIODevices: false)
        cores = topology.objects(HWLOC_OBJ_CORE)
        guard !cores.isEmpty else { throw HwlocError(call: "hwloc_get_obj_by_type(HWLOC_OBJ_CORE)") }
    }

    /// Core indices (as `bindCurrentThread` takes them) of each NUMA node, in node order.
    public var coresByNUMANode: [[Int]] {
        topology.objects(HWLOC_OBJ_NUMANODE).map { node in
            cores.indices.filter { hwloc_bitmap_intersects(cores[$0].pointee.cpuset, node.pointee.cpuset) != 0 }
        }
    }

    /// Binds the calling thread to core `index` (modulo the core count); false if the OS refused.
    public func bindCurrentThread(toCore index: Int) -> Bool {
        hwloc_set_cpubind(topology.handle, cores[index % cores.count].pointee.cpuset, Int32(HWLOC_CPUBIND_THREAD.rawValue)) == 0
    }
}
