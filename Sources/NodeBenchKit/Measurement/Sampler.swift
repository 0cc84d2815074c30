import Foundation

/// The time one execution took: on the device (profiling counters) and on the host clock from
/// submission to completion (launch overhead included).
public struct SampleTime: Sendable {
    public var kernelSeconds: Double
    public var wallSeconds: Double
}

/// How long to measure a case: `repetitions` times, spread over the run in a shuffled order; each
/// repetition warms up until its timings are steady, then samples until both a minimum time and a
/// minimum count are met, bounded by a maximum count and time.
public struct SamplingPolicy: Codable, Sendable, Equatable {
    public var repetitions: Int
    /// Each repetition's warm-up: at least `warmupRuns` executions and `warmupSeconds`, then until
    /// three executions in a row agree within `steadyTolerance`, for at most `maxWarmupSeconds`.
    public var warmupRuns: Int
    public var warmupSeconds: Double
    public var maxWarmupSeconds: Double
    public var steadyTolerance: Double
    public var minSamples: Int
    public var minSeconds: Double
    public var maxSamples: Int
    public var maxSeconds: Double

    public init(
        repetitions: Int, warmupRuns: Int = 1, warmupSeconds: Double = 0, maxWarmupSeconds: Double = 0, steadyTolerance: Double = 0.05,
        minSamples: Int, minSeconds: Double, maxSamples: Int, maxSeconds: Double
    ) {
        precondition(repetitions >= 1 && minSamples >= 1 && maxSamples >= minSamples && maxSeconds >= minSeconds)
        self.repetitions = repetitions
        self.warmupRuns = warmupRuns
        self.warmupSeconds = warmupSeconds
        self.maxWarmupSeconds = max(maxWarmupSeconds, warmupSeconds)
        self.steadyTolerance = steadyTolerance
        self.minSamples = minSamples
        self.minSeconds = minSeconds
        self.maxSamples = maxSamples
        self.maxSeconds = maxSeconds
    }

    /// The same policy with another number of repetitions (`run --repetitions`).
    public func repeated(_ count: Int) -> SamplingPolicy {
        var policy = self
        policy.repetitions = count
        return policy
    }
}

/// The samples of one repetition of a case, after its warm-up.
public struct Repetition: Sendable {
    public var kernel: [Double]
    public var wall: [Double]
    /// Executions it took to reach steady timings.
    public var warmupRuns: Int
    /// The round of the run it was measured in (1-based), and whether a machine-wide disturbance
    /// hit that round (`Disturbance`): such a repetition is kept but not counted.
    public var round = 1
    public var disturbed = false
}

enum Sampler {
    /// One repetition per `policy`. The minimum count always wins over the maximum time, so a slow
    /// case still yields `minSamples` samples.
    static func measure(_ policy: SamplingPolicy, _ execute: () throws -> SampleTime) throws -> Repetition {
        let warmups = try warmUp(policy, execute)
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
        return Repetition(kernel: kernel, wall: wall, warmupRuns: warmups)
    }

    /// Executes until the minimum count and time are met and the last three timings agree (the
    /// caches, clocks and thread pools have settled), or the maximum time is up. Returns the count.
    private static func warmUp(_ policy: SamplingPolicy, _ execute: () throws -> SampleTime) throws -> Int {
        var recent: [Double] = []
        let start = MonotonicClock.now()
        while true {
            let elapsed = MonotonicClock.now() - start
            let steady = recent.count >= 3 && recent.suffix(3).max()! <= recent.suffix(3).min()! * (1 + policy.steadyTolerance)
            if recent.count >= policy.warmupRuns && elapsed >= policy.warmupSeconds && (steady || elapsed >= policy.maxWarmupSeconds) {
                return recent.count
            }
            recent.append(try execute().kernelSeconds)
        }
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
