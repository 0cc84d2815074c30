import Foundation

/// Runs the peak probes on a set of devices and derives their theoretical peaks.
public struct PeakRunner {
    private let inventory: NodeInventory
    private let devices: [DeviceDescriptor]
    private let policy: PeakPolicy

    public init(inventory: NodeInventory, devices: [DeviceDescriptor], policy: PeakPolicy) {
        self.inventory = inventory
        self.devices = devices
        self.policy = policy
    }

    /// Derived peaks of every device; CPU devices use the all-core clock measured now.
    public func theoreticalPeaks() -> [TheoreticalPeak] {
        let measuredMHz = devices.contains { $0.type == .cpu }
            ? HostProbes(device: DeviceDescriptor.hostID, policy: policy).allCoreClockMHz() : nil
        let clock = TheoreticalPeaks.hostClock(measuredMHz: measuredMHz, cpu: inventory.cpu)
        return devices.flatMap { device -> [TheoreticalPeak] in
            if device.isHost {
                return TheoreticalPeaks.host(device, cpu: inventory.cpu, cores: inventory.topology?.cores ?? inventory.host.logicalCPUs, clock: clock)
            }
            let capability = try? inventory.openCL(device).device.nvidiaComputeCapability
            return TheoreticalPeaks.openCL(
                device, cpu: inventory.cpu, hostClock: clock, nvidiaComputeCapability: capability.map { ($0.major, $0.minor) })
        }
    }

    /// Measures every probe on every device; `onMeasurement` sees each result as soon as it exists.
    public func run(onStart: (String) -> Void, onMeasurement: (PeakMeasurement) -> Void) {
        let lastLevelCache = inventory.topology?.caches.filter { $0.kind != "instruction" }.map { $0.sizeBytes * UInt64($0.instances) }.max() ?? 0
        for device in devices {
            if device.isHost {
                let host = HostProbes(device: device.id, policy: policy)
                for dtype in [DType.fp32, .fp64] {
                    onStart("\(device.id) peak compute \(dtype.rawValue)")
                    onMeasurement(host.compute(dtype))
                }
                onStart("\(device.id) peak memory bandwidth")
                host.bandwidth(lastLevelCacheBytes: lastLevelCache, memoryBytes: inventory.host.physicalMemoryBytes).forEach(onMeasurement)
                continue
            }
            let probes: OpenCLProbes
            do {
                probes = try OpenCLProbes(device: try inventory.openCL(device), policy: policy)
            } catch {
                for probe in PeakProbe.allCases {
                    onMeasurement(PeakMeasurement(device: device.id, probe: probe, variant: "all", status: .failed, reason: "device unusable: \(Runner.describe(error))"))
                }
                continue
            }
            for dtype in [DType.fp32, .fp64, .fp16] {
                onStart("\(device.id) peak compute \(dtype.rawValue)")
                onMeasurement(probes.compute(dtype))
            }
            onStart("\(device.id) peak memory bandwidth")
            probes.memoryBandwidth(bufferBytes: bandwidthBufferBytes(device.type == .cpu, lastLevelCache: lastLevelCache, device: device))
                .forEach(onMeasurement)
            onStart("\(device.id) peak transfer bandwidth")
            probes.transferBandwidth(bufferBytes: min(64 << 20, Int((device.maxAllocationBytes ?? 0) / 2))).forEach(onMeasurement)
            onStart("\(device.id) launch latency")
            onMeasurement(probes.launchLatency())
        }
    }

    /// CPU devices share the host's caches: four times the last-level cache. GPUs: 256 MiB. Always
    /// within the device's allocation limit and an eighth of its memory (three buffers are live).
    private func bandwidthBufferBytes(_ isCPU: Bool, lastLevelCache: UInt64, device: DeviceDescriptor) -> Int {
        let wanted = isCPU ? HostProbes.arrayBytes(lastLevelCacheBytes: lastLevelCache, memoryBytes: inventory.host.physicalMemoryBytes) : 256 << 20
        let limit = min(Double(device.maxAllocationBytes ?? 0), Double(device.globalMemoryBytes ?? 0) / 8)
        return Int(min(Double(wanted), limit))
    }
}
