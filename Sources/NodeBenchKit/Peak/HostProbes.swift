import CHostProbes
import Foundation

/// Compute and memory-bandwidth probes for the host CPU, one pinned thread per core.
struct HostProbes {
    let device: String
    let policy: PeakPolicy
    let threads = PinnedThreads()
    let isa = nb_host_best_isa()

    func compute(_ dtype: DType) -> PeakMeasurement {
        guard dtype == .fp32 || dtype == .fp64 else {
            return PeakMeasurement(device: device, probe: .compute, variant: dtype.rawValue, status: .skipped, reason: "no host fp16 arithmetic probe")
        }
        let isa = self.isa
        let start = 1.5 + Double(policy.samples) * 1e-9  // from run-time data, so no chain folds away
        let oneThread: @Sendable (Int) -> Double = { iterations in
            var floatSink: Float = 0
            var doubleSink: Double = 0
            let flops = dtype == .fp32
                ? nb_host_fma_fp32(isa, iterations, start, &floatSink) : nb_host_fma_fp64(isa, iterations, start, &doubleSink)
            blackHole(Double(floatSink) + doubleSink)
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
        let name = String(cString: nb_isa_name(isa))
        return PeakMeasurement(
            device: device, probe: .compute, variant: dtype.rawValue, samples: rates,
            configuration: "\(threads.count) pinned threads, \(name), 12 independent FMA chains")
    }

    /// The clock every core runs at while all of them are busy, from a loop of dependent integer
    /// additions (one per cycle): turbo and throttling included, unlike the nominal clock.
    func allCoreClockMHz() -> Double? {
        guard nb_dependent_add_cycles(1) > 0 else { return nil }
        let (_, probeSeconds) = MonotonicClock.time { nb_dependent_add_cycles(1_000_000) }
        let iterations = max(1_000_000, Int(1_000_000 * policy.sampleSeconds / max(probeSeconds, 1e-6)))
        let perThread = UnsafeMutableBufferPointer<Double>.allocate(capacity: threads.count)
        defer { perThread.deallocate() }
        let results = SendablePointer(perThread.baseAddress!)
        _ = threads.run { index in
            let (cycles, seconds) = MonotonicClock.time { nb_dependent_add_cycles(iterations) }
            results.pointer[index] = cycles / seconds / 1e6
        }
        return perThread.reduce(0, +) / Double(threads.count)
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
        let configuration = "\(threads.count) pinned threads, \(formatBytes(Double(chunk * 4 * threads.count))) per array"
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
    let a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>
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

    func initialize(thread: Int) {
        let start = thread * floatsPerThread
        (a + start).initialize(repeating: 1, count: floatsPerThread)
        (b + start).initialize(repeating: 2, count: floatsPerThread)
        (c + start).initialize(repeating: 0.5, count: floatsPerThread)
    }

    func read(thread: Int) { blackHole(Double(nb_stream_read(a + thread * floatsPerThread, floatsPerThread))) }
    func copy(thread: Int) { nb_stream_copy(b + thread * floatsPerThread, a + thread * floatsPerThread, floatsPerThread) }
    func triad(thread: Int) {
        let start = thread * floatsPerThread
        nb_stream_triad(a + start, b + start, c + start, 0.5, floatsPerThread)
    }
}

/// A pointer the probe threads write their own slots of.
private struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Double>
    init(_ pointer: UnsafeMutablePointer<Double>) { self.pointer = pointer }
}

/// Keeps a value alive so the optimizer cannot drop the work that made it.
@inline(never)
func blackHole(_ value: Double) {
    if value == 0x1.234p-1000 { print("") }
}
