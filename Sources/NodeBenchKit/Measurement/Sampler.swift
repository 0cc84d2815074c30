import Foundation

/// The time one execution took: on the device (profiling counters) and on the host clock from
/// submission to completion (launch overhead included).
public struct SampleTime: Sendable {
    public var kernelSeconds: Double
    public var wallSeconds: Double
}

/// How long to measure: warm-up runs, then samples until both a minimum time and a minimum count
/// are met, bounded by a maximum count and time.
public struct SamplingPolicy: Codable, Sendable, Equatable {
    public var warmupRuns: Int
    public var minSamples: Int
    public var minSeconds: Double
    public var maxSamples: Int
    public var maxSeconds: Double

    public init(warmupRuns: Int, minSamples: Int, minSeconds: Double, maxSamples: Int, maxSeconds: Double) {
        precondition(minSamples >= 1 && maxSamples >= minSamples && maxSeconds >= minSeconds)
        self.warmupRuns = warmupRuns
        self.minSamples = minSamples
        self.minSeconds = minSeconds
        self.maxSamples = maxSamples
        self.maxSeconds = maxSeconds
    }
}

/// The samples of one measurement.
public struct Measurement: Sendable {
    public var kernel: Statistics
    public var wall: Statistics
}

enum Sampler {
    /// Runs `execute` per `policy`. The minimum count always wins over the maximum time, so a slow
    /// case still yields `minSamples` samples.
    static func measure(_ policy: SamplingPolicy, _ execute: () throws -> SampleTime) throws -> Measurement {
        for _ in 0..<policy.warmupRuns { _ = try execute() }
        var kernel: [Double] = []
        var wall: [Double] = []
        let start = MonotonicClock.now()
        while true {
            let sample = try execute()
            kernel.append(sample.kernelSeconds)
            wall.append(sample.wallSeconds)
            let elapsed = MonotonicClock.now() - start
            let enough = kernel.count >= policy.minSamples && elapsed >= policy.minSeconds
            let tooMuch = kernel.count >= policy.maxSamples || elapsed >= policy.maxSeconds
            if kernel.count >= policy.minSamples && (enough || tooMuch) { break }
        }
        return Measurement(kernel: Statistics(kernel)!, wall: Statistics(wall)!)
    }
}

/// Seconds from a monotonic clock, immune to wall-clock changes.
enum MonotonicClock {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// Times `body` on the host clock.
    static func time<T, Failure: Error>(_ body: () throws(Failure) -> T) throws(Failure) -> (T, seconds: Double) {
        let start = now()
        let result = try body()
        return (result, now() - start)
    }
}
