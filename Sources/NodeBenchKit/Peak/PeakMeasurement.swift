/// What a peak probe measures.
public enum PeakProbe: String, Codable, Sendable, CaseIterable {
    /// Fused multiply-add throughput, GFLOP/s; variant is the element type.
    case compute
    /// Device memory bandwidth, GB/s; variant is read, copy or triad.
    case memoryBandwidth
    /// Host <-> device transfer bandwidth, GB/s; variant is write, read or mapped.
    case transferBandwidth
    /// An empty kernel's time from enqueue to completion, microseconds.
    case launchLatency

    public var unit: String {
        switch self {
        case .compute: "GFLOP/s"
        case .memoryBandwidth, .transferBandwidth: "GB/s"
        case .launchLatency: "us"
        }
    }
}

/// One probe's result on one device.
public struct PeakMeasurement: Codable, Sendable, Equatable {
    public var device: String
    public var probe: PeakProbe
    /// fp32/fp64/fp16 for compute; read/copy/triad; write/read/mapped; empty-kernel.
    public var variant: String
    public var status: CaseResult.Status
    public var reason: String?
    /// The best sample: the highest rate, or the lowest latency, in `unit` — what the device can do
    /// at best; `stats` holds the spread. Absent unless ok.
    public var value: Double?
    public var unit: String
    /// Rates (or latencies) of the individual samples.
    public var stats: Statistics?
    /// How the probe ran: vector width, work-group shape, threads, buffer size.
    public var configuration: String?

    init(device: String, probe: PeakProbe, variant: String, samples: [Double], configuration: String) {
        self.device = device
        self.probe = probe
        self.variant = variant
        unit = probe.unit
        self.configuration = configuration
        if let stats = Statistics(samples), stats.min.isFinite, stats.max.isFinite, stats.min > 0 {
            status = .ok
            self.stats = stats
            value = probe == .launchLatency ? stats.min : stats.max
        } else {
            status = .failed
            reason = "no valid sample"
        }
    }

    init(device: String, probe: PeakProbe, variant: String, status: CaseResult.Status, reason: String) {
        self.device = device
        self.probe = probe
        self.variant = variant
        self.status = status
        self.reason = reason
        unit = probe.unit
    }
}

/// A peak derived from the hardware's description rather than measured, with where each number came from.
public struct TheoreticalPeak: Codable, Sendable, Equatable {
    public var device: String
    public var dtype: DType
    public var gflops: Double
    /// e.g. "2 cores x 2596 MHz (/proc/cpuinfo) x 32 fp32 FLOP/cycle (AVX-512 on two 256-bit FMA pipes, AMD family 25)".
    public var source: String
}

/// How long each probe measures; suites choose.
public struct PeakPolicy: Sendable, Equatable {
    /// Target duration of one sample.
    public var sampleSeconds: Double
    public var samples: Int

    public static let quick = PeakPolicy(sampleSeconds: 0.15, samples: 3)
    public static let standard = PeakPolicy(sampleSeconds: 0.2, samples: 5)
}
