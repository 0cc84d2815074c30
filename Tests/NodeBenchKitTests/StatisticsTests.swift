import Testing

@testable import NodeBenchKit

@Suite struct StatisticsTests {
    @Test func summarisesKnownSamples() throws {
        let stats = try #require(Statistics([4, 1, 3, 2]))
        #expect(stats.count == 4)
        #expect(stats.min == 1 && stats.max == 4)
        #expect(stats.median == 2.5)
        #expect(stats.mean == 2.5)
        #expect(abs(stats.p90 - 3.7) < 1e-12)  // 0.9 * 3 = 2.7 ranks up: 3 + 0.7
        #expect(abs(stats.stddev - (5.0 / 3).squareRoot()) < 1e-12)  // sample (n - 1) deviation
        #expect(abs(stats.cv - (5.0 / 3).squareRoot() / 2.5) < 1e-12)
        #expect(stats.samples == [4, 1, 3, 2])  // raw samples kept in order
    }

    @Test func oneSampleHasNoSpread() throws {
        let stats = try #require(Statistics([0.5]))
        #expect(stats.median == 0.5 && stats.p90 == 0.5 && stats.stddev == 0 && stats.cv == 0)
    }

    @Test func nothingToSummarise() {
        #expect(Statistics([]) == nil)
    }

    @Test func samplerHonoursTheMinimumCountAndWarmUps() throws {
        var calls = 0
        let policy = SamplingPolicy(warmupRuns: 2, minSamples: 5, minSeconds: 0, maxSamples: 100, maxSeconds: 10)
        let measurement = try Sampler.measure(policy) {
            calls += 1
            return SampleTime(kernelSeconds: Double(calls), wallSeconds: Double(calls) + 0.5)
        }
        #expect(calls == 7)
        #expect(measurement.kernel.samples == [3, 4, 5, 6, 7])  // warm-ups are not samples
        #expect(measurement.wall.samples == [3.5, 4.5, 5.5, 6.5, 7.5])
    }

    @Test func samplerStopsAtTheMaximumCount() throws {
        var calls = 0
        let policy = SamplingPolicy(warmupRuns: 0, minSamples: 2, minSeconds: 1000, maxSamples: 6, maxSeconds: 1000)
        let measurement = try Sampler.measure(policy) {
            calls += 1
            return SampleTime(kernelSeconds: 1, wallSeconds: 1)
        }
        #expect(measurement.kernel.count == 6)
    }

    @Test func samplerPassesErrorsOn() {
        struct Boom: Error {}
        let policy = SamplingPolicy(warmupRuns: 0, minSamples: 1, minSeconds: 0, maxSamples: 1, maxSeconds: 1)
        #expect(throws: Boom.self) { try Sampler.measure(policy) { throw Boom() } }
    }
}
