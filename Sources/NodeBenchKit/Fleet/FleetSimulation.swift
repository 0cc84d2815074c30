import Foundation

/// A fleet made from one real node's result file, for tests and for measuring the merge at scale
/// (`nodebench fleet simulate`, hidden): every node a copy of it, each OpenCL device repeated to
/// `devicesPerNode`, every repetition's time the real median moved by a device's own speed
/// (log-normal, `deviceSpread`) and by its noise (`repetitionNoise`); chosen nodes slowed,
/// corrupted or failed.
public struct FleetSimulation: Sendable {
    public var nodes: Int
    public var devicesPerNode: Int
    public var deviceSpread = 0.01
    public var repetitionNoise = 0.01
    /// Node index: factor on every one of its times.
    public var slowNodes: [Int: Double] = [:]
    /// Node index: (device index, factor), one device slower.
    public var slowDevices: [Int: (device: Int, factor: Double)] = [:]
    /// Nodes whose first accelerator gives another output checksum in its first case.
    public var corruptNodes: Set<Int> = []
    /// Nodes whose last case failed.
    public var failedNodes: Set<Int> = []
    public var seed: UInt64 = 1

    public init(nodes: Int, devicesPerNode: Int) {
        self.nodes = nodes
        self.devicesPerNode = devicesPerNode
    }

    /// `node0001`... so names sort in node order.
    public func name(_ node: Int) -> String {
        "node" + String(repeating: "0", count: max(0, 4 - String(node + 1).count)) + String(node + 1)
    }

    public func document(node: Int, from base: RunDocument) -> RunDocument {
        var generator = SplitMix64(seed: seed ^ (UInt64(node) &* 0x9E37_79B9_7F4A_7C15))
        var document = base
        let accelerators = base.node.devices.filter { !$0.isHost }
        document.node.devices = base.node.devices.filter(\.isHost) + accelerators.flatMap { device in
            (0..<devicesPerNode).map { index in
                var copy = device
                copy.id = "\(device.id)/\(index)"
                return copy
            }
        }
        var deviceFactors: [String: Double] = [:]
        for device in document.node.devices {
            var factor = exp(deviceSpread * Self.normal(&generator)) * (slowNodes[node] ?? 1)
            if let slow = slowDevices[node], device.id.hasSuffix("/\(slow.device)") { factor *= slow.factor }
            deviceFactors[device.id] = factor
        }
        var results: [CaseResult] = []
        for result in base.results {
            let copies = result.device == DeviceDescriptor.hostID ? [result.device] : (0..<devicesPerNode).map { "\(result.device)/\($0)" }
            for id in copies {
                var copy = result
                copy.device = id
                copy.stats = result.stats.map { scaled($0, by: deviceFactors[id] ?? 1, generator: &generator) }
                if corruptNodes.contains(node), id.hasSuffix("/0"), !results.contains(where: { $0.device == id }) {
                    copy.outputChecksum = copy.outputChecksum.map { String($0.reversed()) }
                }
                results.append(copy)
            }
        }
        document.peaks = base.peaks.flatMap { peak in
            let copies = peak.device == DeviceDescriptor.hostID ? [peak.device] : (0..<devicesPerNode).map { "\(peak.device)/\($0)" }
            return copies.map { id in
                var copy = peak
                copy.device = id
                // A slower device has lower rates and longer latencies.
                let factor = deviceFactors[id] ?? 1
                let scale = peak.probe == .launchLatency ? factor : 1 / factor
                copy.value = peak.value.map { $0 * scale }
                copy.stats = peak.stats.flatMap { Statistics($0.samples.map { $0 * scale }) }
                return copy
            }
        }
        if failedNodes.contains(node), !results.isEmpty {
            results[results.count - 1].status = .failed
            results[results.count - 1].reason = "repetition 2: clEnqueueNDRangeKernel failed: CL_OUT_OF_RESOURCES"
        }
        document.results = results
        return document
    }

    /// Only the first run of a merged file, each repetition the run's median time scaled and noised:
    /// the simulation's noise, not the real run's scatter, so what a test finds does not depend on
    /// how busy the machine was that made the base file.
    private func scaled(_ stats: CaseResult.TimingStats, by factor: Double, generator: inout SplitMix64) -> CaseResult.TimingStats {
        var copy = stats
        let firstRun = stats.repetitions.filter { $0.run == stats.repetitions.first?.run }
        let quiet = firstRun.filter { !$0.disturbed }
        let counted = quiet.isEmpty ? firstRun : quiet
        let kernel = Statistics.median(counted.map(\.kernelMedian)), wall = Statistics.median(counted.map(\.wallMedian))
        copy.repetitions = firstRun.map { repetition in
            var moved = repetition
            let noise = exp(abs(repetitionNoise * Self.normal(&generator)))
            moved.kernelMedian = kernel * factor * noise
            moved.wallMedian = wall * factor * noise
            moved.disturbed = false
            return moved
        }
        copy.kernel = Statistics(stats.kernel.samples.map { $0 * factor }) ?? stats.kernel
        copy.wall = Statistics(stats.wall.samples.map { $0 * factor }) ?? stats.wall
        return copy
    }

    /// A standard normal draw (Box-Muller).
    static func normal(_ generator: inout SplitMix64) -> Double {
        let u = max(Double(generator.next() >> 11) * 0x1p-53, 1e-300)
        let v = Double(generator.next() >> 11) * 0x1p-53
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
