import Foundation

/// One device kept under GEMM load for a while (`run --burn-in`): its throughput and clock over
/// time, and whether the throughput fell (throttling) or the output changed (a device that
/// computes wrongly once hot).
public struct BurnInResult: Codable, Sendable, Equatable {
    public var device: String
    public var implementation: String
    /// The GEMM kept running, as results name cases: "gemm fp32 NN 2048x2048x2048".
    public var workload: String
    /// ok, or failed (with `reason`) when the case could not run or verify, or the device hung.
    public var status: CaseResult.Status
    public var reason: String?
    /// How long the load was asked to last.
    public var seconds: Double
    public var intervals: [Interval]
    /// 1 - the last quarter's median throughput over the first quarter's: 0.2 is a 20% fall.
    public var fall: Double?
    /// How sure the fall is (one-sided Welch t test of the quarters' log throughputs).
    public var p: Double?
    /// A material and significant fall: more than `fallThreshold`, p below `alpha`.
    public var throttling: Bool
    /// Intervals whose output's checksum differs from the verified output's.
    public var outputChanges: Int

    public struct Interval: Codable, Sendable, Equatable {
        /// Seconds from the start of the load to the end of this interval.
        public var elapsedSeconds: Double
        public var executions: Int
        /// From the interval's median execution time.
        public var gflops: Double
        /// The device's mean current clock at the interval's end, where it exposes one (CPU
        /// devices: the kernel's cpufreq or /proc/cpuinfo); nil otherwise.
        public var clockMHz: Double?
    }

    public static let fallThreshold = 0.10
    public static let alpha = 0.01

    public init(device: String, implementation: String, workload: String, seconds: Double) {
        self.device = device
        self.implementation = implementation
        self.workload = workload
        self.status = .ok
        self.seconds = seconds
        self.intervals = []
        self.throttling = false
        self.outputChanges = 0
    }

    /// The fall between the first and the last quarter of the intervals, and the verdict; needs
    /// at least 4 intervals in each quarter.
    public mutating func judge() {
        let quarter = intervals.count / 4
        guard quarter >= 4 else { return }
        let first = intervals.prefix(quarter).map { log($0.gflops) }
        let last = intervals.suffix(quarter).map { log($0.gflops) }
        fall = 1 - exp(Statistics.median(last) - Statistics.median(first))
        p = Self.oneSidedWelch(first, last)
        throttling = fall! > Self.fallThreshold && p! < Self.alpha
    }

    /// P(the mean of `later` is this far below the mean of `earlier` by chance).
    static func oneSidedWelch(_ earlier: [Double], _ later: [Double]) -> Double {
        func meanAndVariance(_ values: [Double]) -> (Double, Double) {
            let mean = values.reduce(0, +) / Double(values.count)
            return (mean, values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1))
        }
        let (meanEarlier, varianceEarlier) = meanAndVariance(earlier)
        let (meanLater, varianceLater) = meanAndVariance(later)
        let a = varianceEarlier / Double(earlier.count), b = varianceLater / Double(later.count)
        guard a + b > 0 else { return meanLater < meanEarlier ? 0 : 1 }
        let t = (meanEarlier - meanLater) / (a + b).squareRoot()
        let df = (a + b) * (a + b) / (a * a / Double(earlier.count - 1) + b * b / Double(later.count - 1))
        return 1 - StudentT.cdf(t, df: df)
    }

    /// One line for reports and the fleet's evidence.
    public var summary: String {
        guard status == .ok else { return "\(device) burn-in \(status.rawValue): \(reason ?? "no reason given")" }
        let minutes = String(format: "%.1f min", (intervals.last?.elapsedSeconds ?? 0) / 60)
        var line = "\(device) \(implementation) \(workload) under load \(minutes)"
        if let first = intervals.first, let last = intervals.last {
            line += String(format: ", %.0f GFLOP/s at first, %.0f at the end", first.gflops, last.gflops)
            if let from = first.clockMHz, let to = last.clockMHz { line += String(format: ", clock %.0f -> %.0f MHz", from, to) }
        }
        if let fall, let p {
            line += String(format: "; %@ %.1f%% from the first quarter to the last (p %@)", fall >= 0 ? "fell" : "rose", abs(fall) * 100,
                NodeEvidence.probability(p))
        }
        if throttling { line += ": throttling" }
        if outputChanges > 0 { line += "; the output changed in \(outputChanges) of \(intervals.count) intervals: the device computes wrongly under load" }
        return line
    }
}
