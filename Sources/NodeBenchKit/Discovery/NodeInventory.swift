import BLASKit
import HwlocKit
import OpenCLKit

/// Everything discovered about this node: host, topology, BLAS and every OpenCL platform and device.
public struct NodeInventory: Sendable {
    public let host: HostInfo
    /// nil when hwloc could not load the topology; `problems` says why.
    public let topology: Topology?
    public let blas: BLASInfo
    public let cpu: HostCPU
    public let platforms: [PlatformInfo]
    /// The host first, then every OpenCL device in platform order.
    public let devices: [DeviceDescriptor]
    /// What could not be discovered, in words; discovery goes on without it.
    public let problems: [String]
    /// OpenCL devices by id, each made once, for the backends, probes and tuners.
    let openCLDevices: [String: OpenCLDeviceRuntime]

    public var gpuFound: Bool { devices.contains { $0.type == .gpu } }
    public var openCLDeviceCount: Int { openCLDevices.count }

    public struct PlatformInfo: Codable, Sendable, Equatable {
        public var index: Int
        public var name: String
        public var vendor: String
        public var version: String
    }

    public static func discover() -> NodeInventory {
        var problems: [String] = []
        let host = HostInfo.current()
        let topology: Topology?
        do {
            topology = try Topology.discover()
        } catch {
            topology = nil
            problems.append("hwloc: \(error)")
        }
        let blas = BLASInfo(BLAS.identity)

        var platforms: [PlatformInfo] = []
        var openCLDevices: [String: OpenCLDeviceRuntime] = [:]
        var descriptors = [
            DeviceDescriptor(
                hostCPU: topology?.cpuModel ?? "host CPU", vendor: topology?.cpuVendor, blasBuild: blas.configuration,
                // The larger figure: some VMs report less memory per NUMA node in sysfs than the kernel has.
                cores: topology?.cores ?? host.logicalCPUs, memoryBytes: max(topology?.totalMemoryBytes ?? 0, host.physicalMemoryBytes))
        ]
        do {
            for platform in try Platform.all() {
                platforms.append(
                    PlatformInfo(index: platform.index, name: platform.name, vendor: platform.vendor, version: platform.version))
                do {
                    for device in try platform.devices() {
                        let runtime = OpenCLDeviceRuntime(device)
                        descriptors.append(runtime.descriptor)
                        openCLDevices[runtime.descriptor.id] = runtime
                    }
                } catch {
                    problems.append("OpenCL platform \(platform.index) (\(platform.name)): \(error)")
                }
            }
        } catch {
            problems.append("OpenCL: \(error)")
        }
        problems += UnregisteredDrivers().problems()
        return NodeInventory(
            host: host, topology: topology, blas: blas, cpu: HostCPU.current(), platforms: platforms, devices: descriptors, problems: problems,
            openCLDevices: openCLDevices)
    }

    /// One line for a user who expected an accelerator.
    public var accelerationSummary: String {
        if openCLDevices.isEmpty { return "no OpenCL device found, and no GPU: running on the host BLAS alone" }
        if !gpuFound { return "no GPU found: \(openCLDevices.count) OpenCL CPU/other device(s) and the host BLAS" }
        let gpus = devices.filter { $0.type == .gpu }.count
        return "\(gpus) GPU(s) found"
    }

    /// The OpenCL device behind `descriptor`: the one lookup from an id to a device. The host and
    /// unknown ids are refused, naming the OpenCL devices there are.
    func openCL(_ descriptor: DeviceDescriptor) throws(UsageError) -> OpenCLDeviceRuntime {
        guard let runtime = openCLDevices[descriptor.id] else {
            let known = devices.filter { $0.backend == .opencl }.map(\.id)
            throw UsageError("\(descriptor.id) is not an OpenCL device (OpenCL devices: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
        return runtime
    }

    /// The descriptors with these ids, in the order given; unknown ids throw a usage error listing the known ones.
    public func devices(withIDs ids: [String]) throws(UsageError) -> [DeviceDescriptor] {
        var chosen: [DeviceDescriptor] = []
        for id in ids {
            guard let device = devices.first(where: { $0.id == id }) else {
                let known = devices.map(\.id).joined(separator: ", ")
                throw UsageError("unknown device '\(id)'; devices on this node: \(known)")
            }
            if !chosen.contains(device) { chosen.append(device) }
        }
        return chosen
    }
}

/// The host BLAS library as results record it.
public struct BLASInfo: Codable, Sendable, Equatable {
    public var library: String
    public var version: String?
    public var configuration: String
    public var coreName: String
    public var threads: Int
    public var parallelism: String

    init(_ identity: BLAS.Identity) {
        library = "OpenBLAS"
        version = identity.version
        configuration = identity.configuration
        coreName = identity.coreName
        threads = identity.threads
        parallelism = "\(identity.parallelism)"
    }
}
