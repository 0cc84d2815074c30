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
        let policy = SamplingPolicy(repetitions: 1, warmupRuns: 2, minSamples: 5, minSeconds: 0, maxSamples: 100, maxSeconds: 10)
        let repetition = try Sampler.measure(policy) {
            calls += 1
            return SampleTime(kernelSeconds: Double(calls), wallSeconds: Double(calls) + 0.5)
        }
        #expect(calls == 7 && repetition.warmupRuns == 2)
        #expect(repetition.kernel == [3, 4, 5, 6, 7])  // warm-ups are not samples
        #expect(repetition.wall == [3.5, 4.5, 5.5, 6.5, 7.5])
    }

    @Test func warmUpLastsUntilTheTimingsAreSteady() throws {
        // A cold start: 8, 4, 2, then steady at 1 ± 1%.
        let timings = [8, 4, 2, 1, 1.01, 0.99, 1, 1, 1, 1, 1]
        var calls = 0
        let policy = SamplingPolicy(
            repetitions: 1, warmupRuns: 1, warmupSeconds: 0, maxWarmupSeconds: 60, steadyTolerance: 0.05, minSamples: 3, minSeconds: 0,
            maxSamples: 3, maxSeconds: 60)
        let repetition = try Sampler.measure(policy) {
            defer { calls += 1 }
            return SampleTime(kernelSeconds: timings[calls], wallSeconds: timings[calls])
        }
        #expect(repetition.warmupRuns == 6)  // 8, 4, 2, 1, 1.01, 0.99: the last three agree
        #expect(repetition.kernel == [1, 1, 1])
    }

    @Test func samplerStopsAtTheMaximumCount() throws {
        let policy = SamplingPolicy(repetitions: 1, warmupRuns: 0, minSamples: 2, minSeconds: 1000, maxSamples: 6, maxSeconds: 1000)
        let repetition = try Sampler.measure(policy) { SampleTime(kernelSeconds: 1, wallSeconds: 1) }
        #expect(repetition.kernel.count == 6)
    }

    @Test func samplerPassesErrorsOn() {
        struct Boom: Error {}
        let policy = SamplingPolicy(repetitions: 1, warmupRuns: 0, minSamples: 1, minSeconds: 0, maxSamples: 1, maxSeconds: 1)
        #expect(throws: Boom.self) { try Sampler.measure(policy) { throw Boom() } }
    }
}

@Suite struct DisturbanceTests {
    /// 12 cases of different speeds over 10 rounds, each repetition within ±1% of its case's time.
    static func rounds(slowRounds: [Int: Double] = [:], slowCase: (index: Int, factor: Double)? = nil) -> [[Double]] {
        var generator = SplitMix64(seed: 21)
        return (0..<12).map { index in
            (0..<10).map { round in
                let own = slowCase.map { $0.index == index ? $0.factor : 1 } ?? 1
                return 1e-3 * Double(index + 1) * own * (slowRounds[round] ?? 1) * (1 + 0.01 * generator.nextSigned())
            }
        }
    }

    @Test func roundsThatSlowedEveryCaseAreDisturbed() {
        let disturbed = Disturbance.disturbedRounds(Self.rounds(slowRounds: [2: 1.2, 7: 1.08]))
        #expect(disturbed.enumerated().filter(\.element).map(\.offset) == [2, 7])
    }

    @Test func aQuietMachineHasNoDisturbedRound() {
        #expect(!Disturbance.disturbedRounds(Self.rounds()).contains(true))
    }

    @Test func oneCaseOfItsOwnDisturbsNothing() {
        // A kernel that became 2x slower in every round, and one slow repetition of one case.
        #expect(!Disturbance.disturbedRounds(Self.rounds(slowCase: (3, 2))).contains(true))
        var rounds = Self.rounds()
        rounds[5][4] *= 3
        #expect(!Disturbance.disturbedRounds(rounds).contains(true))
    }

    @Test func tooFewCasesToTell() {
        let few = Array(Self.rounds(slowRounds: [2: 1.5]).prefix(Disturbance.minimumCases - 1))
        #expect(Disturbance.disturbedRounds(few) == Array(repeating: false, count: 10))
    }
}
