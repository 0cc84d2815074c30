import Foundation
import HostKernels

/// Compute and memory-bandwidth probes for the host CPU, one pinned thread per core.
struct HostProbes {
    let device: String
    let policy: PeakPolicy
    let threads = PinnedThreads()
    let isa = HostISA.best

    func compute(_ dtype: DType) -> PeakMeasurement {
        guard dtype == .fp32 || dtype == .fp64 else {
            return PeakMeasurement(device: device, probe: .compute, variant: dtype.rawValue, status: .skipped, reason: "no host fp16 arithmetic probe")
        }
        let isa = self.isa
        let start = 1.5 + Double(policy.samples) * 1e-9  // from run-time data, so no chain folds away
        let oneThread: @Sendable (Int) -> Double = { iterations in
            let (flops, sink) = dtype == .fp32
                ? ProbeKernels.fmaFP32(isa, iterations: iterations, start: start) : ProbeKernels.fmaFP64(isa, iterations: iterations, start: start)
            blackHole(sink)
            return flops
        }
        // Calibrate on one thread so a sample lasts about policy.sampleSeconds.
        let probeIterations = 100_000
        let (_, probeSeconds) = MonotonicClock.time { oneThread(probeIterations) }
        let iterations = max(1000, Int(Double(probeIterations) * policy.sampleSeconds / max(probeSeconds, 1e-6)))
        let flopsPerThread = oneThread(1) * Double(iterations)
        var rates: [Double] = []
        for _ in 0..<policy.samples {
            let seconds = threads.run { _ in _ = oneThread(iterations) }
            rates.append(flopsPerThread * Double(threads.count) / seconds / 1e9)
        }
        return PeakMeasurement(
            device: device, probe: .compute, variant: dtype.rawValue, samples: rates,
            configuration: "\(threads.description), \(isa.name), 12 independent FMA chains")
    }

    /// The clock every core runs at while all of them are busy, from a loop of dependent integer
    /// additions (one per cycle): turbo and throttling included, unlike the nominal clock.
    func allCoreClockMHz() -> Double? {
        guard ProbeKernels.dependentAddCycles(iterations: 1) != nil else { return nil }
        let (_, probeSeconds) = MonotonicClock.time { ProbeKernels.dependentAddCycles(iterations: 1_000_000) }
        let iterations = max(1_000_000, Int(1_000_000 * policy.sampleSeconds / max(probeSeconds, 1e-6)))
        let perThread = ThreadSlots(count: threads.count)
        defer { perThread.deallocate() }
        _ = threads.run { index in
            let (cycles, seconds) = MonotonicClock.time { ProbeKernels.dependentAddCycles(iterations: iterations) ?? 0 }
            perThread[index] = cycles / seconds / 1e6
        }
        return perThread.sum / Double(threads.count)
    }

    /// STREAM-style read, copy and triad over arrays far larger than the last-level cache, on
    /// every core; with several NUMA nodes, also triad on each node's cores alone (`triad@nodeN`).
    func bandwidth(lastLevelCacheBytes: UInt64, memoryBytes: UInt64) -> [PeakMeasurement] {
        let perArray = Self.arrayBytes(lastLevelCacheBytes: lastLevelCacheBytes, memoryBytes: memoryBytes)
        var measurements = stream(threads, perArray: perArray, kernels: ["read", "copy", "triad"])
        let nodes = threads.binder?.coresByNUMANode ?? []
        if nodes.count > 1 {
            for (node, cores) in nodes.enumerated() where !cores.isEmpty {
                let perNode = PinnedThreads(binder: threads.binder, cores: cores)
                measurements += stream(perNode, perArray: perArray / nodes.count, kernels: ["triad"]).map { measurement in
                    var renamed = measurement
                    renamed.variant = "triad@node\(node)"
                    return renamed
                }
            }
        }
        return measurements
    }

    private func stream(_ threads: PinnedThreads, perArray: Int, kernels names: [String]) -> [PeakMeasurement] {
        let chunk = perArray / 4 / threads.count  // floats per thread per array
        let arrays = StreamArrays(floatsPerThread: chunk, threads: threads.count)
        defer { arrays.deallocate() }
        // First touch from the pinned threads places each chunk on its thread's NUMA node.
        _ = threads.run(body: { arrays.initialize(thread: $0) })
        let all: [(String, Int, @Sendable (Int) -> Void)] = [
            ("read", 1, { arrays.read(thread: $0) }),
            ("copy", 2, { arrays.copy(thread: $0) }),
            ("triad", 3, { arrays.triad(thread: $0) }),
        ]
        let kernels = all.filter { names.contains($0.0) }
        return kernels.map { name, arraysTouched, kernel in
            let bytes = Double(chunk * 4 * threads.count * arraysTouched)
            _ = threads.run(body: kernel)  // warm-up
            let rates = (0..<max(policy.samples, 3)).map { _ in bytes / threads.run(body: kernel) / 1e9 }
            let configuration = "\(threads.description), \(formatBytes(Double(chunk * 4 * threads.count))) per array"
            return PeakMeasurement(device: device, probe: .memoryBandwidth, variant: name, samples: rates, configuration: configuration)
        }
    }

    /// Four times the last-level cache, at least 64 MiB, at most 1/16 of memory.
    static func arrayBytes(lastLevelCacheBytes: UInt64, memoryBytes: UInt64) -> Int {
        let wanted = max(4 * Double(lastLevelCacheBytes), 64 * 1024 * 1024)
        return Int(min(wanted, Double(memoryBytes) / 16))
    }
}

/// Three float arrays split into per-thread chunks, shared with the probe threads.
private struct StreamArrays: @unchecked Sendable {
    let a: UnsafeMutableBufferPointer<Float>, b: UnsafeMutableBufferPointer<Float>, c: UnsafeMutableBufferPointer<Float>
    let floatsPerThread: Int

    init(floatsPerThread: Int, threads: Int) {
        self.floatsPerThread = floatsPerThread
        a = .allocate(capacity: floatsPerThread * threads)
        b = .allocate(capacity: floatsPerThread * threads)
        c = .allocate(capacity: floatsPerThread * threads)
    }

    func deallocate() {
        a.deallocate()
        b.deallocate()
        c.deallocate()
    }

    /// `thread`'s chunk of `array`.
    private func chunk(_ array: UnsafeMutableBufferPointer<Float>, _ thread: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: array[thread * floatsPerThread..<(thread + 1) * floatsPerThread])
    }

    func initialize(thread: Int) {
        chunk(a, thread).initialize(repeating: 1)
        chunk(b, thread).initialize(repeating: 2)
        chunk(c, thread).initialize(repeating: 0.5)
    }

    func read(thread: Int) { blackHole(Double(ProbeKernels.read(UnsafeBufferPointer(chunk(a, thread))))) }
    func copy(thread: Int) { ProbeKernels.copy(UnsafeBufferPointer(chunk(a, thread)), to: chunk(b, thread)) }
    func triad(thread: Int) {
        ProbeKernels.triad(chunk(a, thread), UnsafeBufferPointer(chunk(b, thread)), UnsafeBufferPointer(chunk(c, thread)), scalar: 0.5)
    }
}

/// One value per probe thread, each written by its own thread only.
private struct ThreadSlots: @unchecked Sendable {
    private let values: UnsafeMutableBufferPointer<Double>

    init(count: Int) {
        values = .allocate(capacity: count)
        values.initialize(repeating: 0)
    }

    func deallocate() { values.deallocate() }

    subscript(thread: Int) -> Double {
        get { values[thread] }
        nonmutating set { values[thread] = newValue }
    }

    var sum: Double { values.reduce(0, +) }
}

/// Keeps a value alive so the optimizer cannot drop the work that made it.
@inline(never)
func blackHole(_ value: Double) {
    if value == 0x1.234p-1000 { print("") }
}
