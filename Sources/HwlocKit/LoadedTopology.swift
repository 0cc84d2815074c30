import CHwloc

/// A loaded hwloc topology and its one owner. Every hwloc call that can fail on the way (init, the
/// I/O filter, load) is checked here once: a failure throws, naming the call, and frees what was
/// made; the topology is destroyed once, when its owner goes.
final class LoadedTopology: @unchecked Sendable {
    let handle: hwloc_topology_t

    /// `keepingIODevices` keeps the I/O objects that matter (GPUs, co-processors), which hwloc
    /// filters out by default.
    init(keepingIODevices: Bool) throws(HwlocError) {
        var made: hwloc_topology_t?
        guard hwloc_topology_init(&made) == 0, let handle = made else { throw HwlocError(call: "hwloc_topology_init") }
        if keepingIODevices && hwloc_topology_set_io_types_filter(handle, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) != 0 {
            hwloc_topology_destroy(handle)
            throw HwlocError(call: "hwloc_topology_set_io_types_filter")
        }
        guard hwloc_topology_load(handle) == 0 else {
            hwloc_topology_destroy(handle)
            throw HwlocError(call: "hwloc_topology_load")
        }
        self.handle = handle
    }

    deinit { hwloc_topology_destroy(handle) }

    /// Every object of `type`, in hwloc's logical order.
    func objects(_ type: hwloc_obj_type_t) -> [hwloc_obj_t] {
        let count = max(0, Int(hwloc_get_nbobjs_by_type(handle, type)))
        return (0..<count).compactMap { hwloc_get_obj_by_type(handle, type, UInt32($0)) }
    }
}
