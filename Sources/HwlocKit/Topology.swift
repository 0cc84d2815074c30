import CHwloc

/// The machine as hwloc sees it, copied into plain values (no hwloc pointers escape).
public struct Topology: Sendable, Equatable, Codable {
    public var packages: Int
    public var cores: Int
    public var processingUnits: Int
    public var totalMemoryBytes: UInt64
    public var numaNodes: [NUMANode]
    public var caches: [CacheLevel]
    public var cpuModel: String?
    public var cpuVendor: String?
    public var ioDevices: [IODevice]
    /// The hwloc API version the library implements (e.g. "2.8.0" for hwloc 2.8 and 2.9).
    public var hwlocAPIVersion: String

    public struct NUMANode: Sendable, Equatable, Codable {
        public var index: Int
        public var memoryBytes: UInt64
    }

    /// Every cache of one level and kind, e.g. "L2 unified, 1 MiB, 2 instances".
    public struct CacheLevel: Sendable, Equatable, Codable {
        public var level: Int
        public var kind: String
        public var sizeBytes: UInt64
        public var instances: Int
    }

    /// A PCI device or an OS device (GPU, co-processor, OpenCL/CUDA device) hwloc found.
    public struct IODevice: Sendable, Equatable, Codable {
        public var kind: String
        public var name: String
        public var detail: String?
    }

    /// Discovers this machine. Throws only if hwloc itself cannot start.
    public static func discover() throws(HwlocError) -> Topology {
        Topology(reading: try LoadedTopology(keepingIODevices: true))
    }

    private init(reading topology: LoadedTopology) {
        let objects = topology.objects
        packages = objects(HWLOC_OBJ_PACKAGE).count
        cores = objects(HWLOC_OBJ_CORE).count
        processingUnits = objects(HWLOC_OBJ_PU).count
        numaNodes = objects(HWLOC_OBJ_NUMANODE).map { node in
            NUMANode(index: Int(node.pointee.os_index), memoryBytes: node.pointee.attr.pointee.numanode.local_memory)
        }
        totalMemoryBytes = numaNodes.reduce(0) { $0 + $1.memoryBytes }
        caches = Topology.cacheTypes.compactMap { type, level, kind in
            let found = objects(type)
            guard let first = found.first else { return nil }
            return CacheLevel(
                level: level, kind: kind, sizeBytes: first.pointee.attr.pointee.cache.size, instances: found.count)
        }
        let firstPackage = objects(HWLOC_OBJ_PACKAGE).first
        cpuModel = firstPackage.flatMap { Topology.info($0, "CPUModel") }
        cpuVendor = firstPackage.flatMap { Topology.info($0, "CPUVendor") }
        ioDevices = objects(HWLOC_OBJ_PCI_DEVICE).compactMap(Topology.pciDevice)
            + objects(HWLOC_OBJ_OS_DEVICE).compactMap(Topology.osDevice)
        let version = hwloc_get_api_version()
        hwlocAPIVersion = "\(version >> 16).\((version >> 8) & 0xff).\(version & 0xff)"
    }

    private static let cacheTypes: [(hwloc_obj_type_t, Int, String)] = [
        (HWLOC_OBJ_L1CACHE, 1, "data"), (HWLOC_OBJ_L1ICACHE, 1, "instruction"),
        (HWLOC_OBJ_L2CACHE, 2, "unified"), (HWLOC_OBJ_L3CACHE, 3, "unified"),
        (HWLOC_OBJ_L4CACHE, 4, "unified"), (HWLOC_OBJ_L5CACHE, 5, "unified"),
    ]

    private static func info(_ object: hwloc_obj_t, _ name: String) -> String? {
        hwloc_obj_get_info_by_name(object, name).map { String(cString: $0) }
    }

    /// PCI display controllers, co-processors and processing accelerators: where GPUs sit, whether
    /// or not a driver exposes them.
    private static func pciDevice(_ object: hwloc_obj_t) -> IODevice? {
        let pci = object.pointee.attr.pointee.pcidev
        let baseClass = pci.class_id >> 8
        guard baseClass == 0x03 || baseClass == 0x0B || baseClass == 0x12 else { return nil }
        let hex = { (value: UInt32, width: Int) in
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let address = "\(hex(UInt32(pci.domain), 4)):\(hex(UInt32(pci.bus), 2)):\(hex(UInt32(pci.dev), 2)).\(pci.func)"
        let ids = "[\(hex(UInt32(pci.vendor_id), 4)):\(hex(UInt32(pci.device_id), 4))]"
        let names = [info(object, "PCIVendor"), info(object, "PCIDevice")].compactMap { $0 }
        return IODevice(kind: "pci", name: "\(address) \(ids)", detail: names.isEmpty ? nil : names.joined(separator: " "))
    }

    /// GPUs and co-processors (OpenCL, CUDA); block, network and DMA devices are not ours.
    private static func osDevice(_ object: hwloc_obj_t) -> IODevice? {
        let kind: String
        switch object.pointee.attr.pointee.osdev.type {
        case HWLOC_OBJ_OSDEV_GPU: kind = "gpu"
        case HWLOC_OBJ_OSDEV_COPROC: kind = "coprocessor"
        default: return nil
        }
        let name = object.pointee.name.map { String(cString: $0) } ?? "unnamed"
        let detail = info(object, "GPUModel") ?? info(object, "Backend")
        return IODevice(kind: kind, name: name, detail: detail)
    }
}

public struct HwlocError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public var description: String { "\(call) failed" }
}
