import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@testable import NodeBenchKit

/// Result files made of synthetic timings with known noise: log-normal repetition medians, a
/// between-run shift per run and case, a within-run scatter per repetition, and slow phases of the
/// machine that slow a share of the repetitions by 10-50%.
struct SyntheticRuns {
    var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// A deviate uniform in [0, 1).
    mutating func uniform() -> Double { Double(generator.next() >> 11) / Double(1 << 53) }

    /// A standard normal deviate (Box-Muller).
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300)
        let v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    /// One case's stats over `runs` runs of `repetitions` repetitions around `seconds`.
    mutating func stats(
        seconds: Double, runs: Int, repetitions: Int = 10, betweenRuns: Double, withinRun: Double, slowPhases: Double = 0
    ) -> CaseResult.TimingStats {
        var summaries: [CaseResult.RepetitionSummary] = []
        for run in 0..<runs {
            let shift = betweenRuns * normal()
            for round in 1...repetitions {
                let slowed = slowPhases > 0 && uniform() < slowPhases ? 1.1 + 0.4 * uniform() : 1
                let median = seconds * slowed * exp(shift + withinRun * normal())
                summaries.append(.init(run: run, kernelMedian: median, wallMedian: median, samples: 10, warmupRuns: 1, round: round))
            }
        }
        let all = Statistics(summaries.map(\.kernelMedian))!
        return CaseResult.TimingStats(unit: "s", kernel: all, wall: all, repetitions: summaries)
    }

    /// A document whose case `i` runs at `seconds[i]` (each on a device of its own name).
    mutating func document(
        _ seconds: [String: Double], runs: Int, betweenRuns: Double = 0.01, withinRun: Double = 0.01, slowPhases: Double = 0
    ) -> RunDocument {
        var document = ComparisonTests.emptyDocument()
        for (name, time) in seconds.sorted(by: { $0.key < $1.key }) {
            var result = ComparisonTests.result(device: name)
            result.stats = stats(seconds: time, runs: runs, betweenRuns: betweenRuns, withinRun: withinRun, slowPhases: slowPhases)
            result.gflops = result.flops / result.stats!.kernel.median / 1e9
            document.results.append(result)
        }
        document.runs = runs > 1 ? (0..<runs).map { _ in RunDocument.RunSpan(startedAt: document.startedAt, finishedAt: nil) } : nil
        return document
    }

    static let implementations = ["openblas", "nodebench", "clblast", "flash"]

    /// Five cases of each of `implementations` on one device, the i-th of each at (i + 1) ms times
    /// `factor(implementation, i)`: the groups a machine's shift is read from.
    mutating func implementationsDocument(
        runs: Int, betweenRuns: Double = 0.01, factor: (String, Int) -> Double = { _, _ in 1 }
    ) -> RunDocument {
        var document = document([:], runs: runs)
        for implementation in Self.implementations {
            for index in 0..<5 {
                var result = ComparisonTests.result(device: "host")
                result.implementation = implementation
                result.shape = GEMMShape(m: 8 + index, n: 8, k: 8)
                let seconds = 1e-3 * Double(index + 1) * factor(implementation, index)
                result.stats = stats(seconds: seconds, runs: runs, betweenRuns: betweenRuns, withinRun: 0.01)
                document.results.append(result)
            }
        }
        return document
    }
}

@Suite struct ComparisonTests {
    static func emptyDocument(blasCore: String = "Haswell") -> RunDocument {
        var document = RunDocument(
            tool: .current, suite: "test", seed: 1, sampling: Suite.named(.quick).sampling, node: NodeDescription(AttentionTests.inventory))
        document.node.blas.coreName = blasCore
        return document
    }

    static func result(device name: String, status: CaseResult.Status = .ok) -> CaseResult {
        var device = AttentionTests.inventory.devices[0]
        device.id = name
        return CaseResult(
            gemm: GEMMCase(shape: GEMMShape(m: 8, n: 8, k: 8), layout: .nn, dtype: .fp32), device: device, implementation: "openblas", status: status)
    }

    static let twentyCases = Dictionary(uniqueKeysWithValues: (0..<20).map { ("case\($0)", 1e-3 * Double($0 + 1)) })

    @Test func studentTMatchesTables() {
        #expect(abs(StudentT.quantile(0.975, df: 10) - 2.228_139) < 1e-5)
        #expect(abs(StudentT.quantile(0.975, df: 1) - 12.706_205) < 1e-4)
        #expect(abs(StudentT.quantile(0.95, df: 4) - 2.131_847) < 1e-5)
        #expect(abs(StudentT.quantile(0.975, df: 1e6) - 1.959_966) < 1e-4)
        #expect(abs(StudentT.cdf(0, df: 3) - 0.5) < 1e-12)
        #expect(abs(StudentT.cdf(-2.228_139, df: 10) - 0.025) < 1e-6)
    }

    @Test func holmAdjustsStepDown() {
        // Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, then 0.04·1 is raised to 0.06.
        let adjusted = Holm.adjusted([0.01, 0.04, 0.03, 0.005])
        #expect(zip(adjusted, [0.03, 0.06, 0.06, 0.02]).allSatisfy { abs($0 - $1) < 1e-12 })
    }

    @Test func identicalMachinesRarelyCryWolfAndNeverClaimSpeedups() {
        // 200 comparisons of a 20-case suite with no change: the family-wise rate is 1%.
        var synthetic = SyntheticRuns(seed: 7)
        var alarms = 0
        var faster = 0
        for _ in 0..<200 {
            let baseline = synthetic.document(Self.twentyCases, runs: 10, betweenRuns: 0.02)
            let current = synthetic.document(Self.twentyCases, runs: 4, betweenRuns: 0.02)
            let comparison = RunComparison(baseline: baseline, named: "b", current: current, named: "c", threshold: 0.05)
            alarms += comparison.regressions.isEmpty ? 0 : 1
            faster += comparison.cases.filter { $0.verdict == .faster }.count
        }
        #expect(alarms <= 4, "\(alarms) of 200 comparisons named a slower case")
        #expect(faster <= 4)
    }

    @Test func aSlowdownBeyondTheDetectableChangeIsCaughtAndNamedAlone() throws {
        var synthetic = SyntheticRuns(seed: 11)
        var caught = 0
        for _ in 0..<50 {
            let baseline = synthetic.document(Self.twentyCases, runs: 10, betweenRuns: 0.01)
            var slowed = Self.twentyCases
            slowed["case3"]! *= 1.10
            let current = synthetic.document(slowed, runs: 4, betweenRuns: 0.01)
            let comparison = RunComparison(baseline: baseline, named: "b", current: current, named: "c", threshold: 0.05)
            let target = try #require(comparison.cases.first { $0.key.device == "case3" })
            #expect((target.detectableChange ?? 1) <= 0.10)
            #expect(comparison.regressions.allSatisfy { $0.key.device == "case3" })
            caught += comparison.regressions.isEmpty ? 0 : 1
        }
        #expect(caught >= 45, "a 10% slowdown caught in \(caught) of 50")
    }

    @Test func slowPhasesOfTheMachineDoNotBlindTheGate() throws {
        // 40% of the repetitions fall in a slow phase: half the runs would have a slowed median, but
        // a run's floor is its fastest repetition, and few runs have none outside a phase.
        var synthetic = SyntheticRuns(seed: 23)
        var alarms = 0
        var caught = 0
        for _ in 0..<50 {
            let baseline = synthetic.document(Self.twentyCases, runs: 10, betweenRuns: 0.01, withinRun: 0.005, slowPhases: 0.4)
            let identical = synthetic.document(Self.twentyCases, runs: 4, betweenRuns: 0.01, withinRun: 0.005, slowPhases: 0.4)
            var slowed = Self.twentyCases
            slowed["case3"]! *= 1.10
            let regressed = synthetic.document(slowed, runs: 4, betweenRuns: 0.01, withinRun: 0.005, slowPhases: 0.4)
            let changes = RunComparison.detectableChanges(of: baseline, currentRuns: 4, threshold: 0.05).compactMap(\.change)
            #expect(changes.filter { $0 <= 0.10 }.count >= 18, "\(changes)")
            alarms += RunComparison(baseline: baseline, named: "b", current: identical, named: "c", threshold: 0.05).regressions.isEmpty ? 0 : 1
            let regressions = RunComparison(baseline: baseline, named: "b", current: regressed, named: "c", threshold: 0.05).regressions
            #expect(regressions.allSatisfy { $0.key.device == "case3" })
            caught += regressions.isEmpty ? 0 : 1
        }
        #expect(alarms <= 1, "\(alarms) of 50 identical comparisons named a slower case")
        #expect(caught >= 45, "a 10% slowdown caught in \(caught) of 50")
    }

    @Test func theDetectableChangeGrowsWithTheNoiseBetweenRuns() throws {
        var synthetic = SyntheticRuns(seed: 3)
        let quiet = synthetic.document(Self.twentyCases, runs: 10, betweenRuns: 0.005)
        let noisy = synthetic.document(Self.twentyCases, runs: 10, betweenRuns: 0.08)
        let quietChange = try #require(RunComparison.detectableChanges(of: quiet, currentRuns: 4, threshold: 0.05).first?.change)
        let noisyChange = try #require(RunComparison.detectableChanges(of: noisy, currentRuns: 4, threshold: 0.05).first?.change)
        // Never below the threshold, however quiet; several times larger with 8% between runs.
        #expect(quietChange > 0.05 && quietChange < 0.10)
        #expect(noisyChange > 3 * quietChange)
        // One run: the between-run noise is unknown, and the report says so.
        let single = synthetic.document(Self.twentyCases, runs: 1)
        let comparison = RunComparison(baseline: single, named: "b", current: single, named: "c", threshold: 0.05)
        #expect(comparison.baselineRuns == 1 && ComparisonReport.caveat(comparison)?.contains("one run") == true)
    }

    @Test func verdictsAdmitDoubt() {
        var synthetic = SyntheticRuns(seed: 5)
        let cases = ["same": 1e-3, "slower": 1e-3, "faster": 1e-3, "noisy": 1e-3, "gone": 1e-3]
        var baseline = synthetic.document(cases, runs: 10, betweenRuns: 0.005, withinRun: 0.005)
        var current = synthetic.document(
            ["same": 1e-3, "slower": 1.5e-3, "faster": 0.5e-3, "noisy": 1.06e-3, "new": 1e-3], runs: 4, betweenRuns: 0.005, withinRun: 0.005)
        for (index, result) in baseline.results.enumerated() where result.device == "noisy" {
            baseline.results[index].stats = synthetic.stats(seconds: 1e-3, runs: 10, betweenRuns: 0.3, withinRun: 0.1)
        }
        current.node.blas.coreName = "SkylakeX"
        current.sampling.repetitions = 5
        let comparison = RunComparison(baseline: baseline, named: "a", current: current, named: "b", threshold: 0.05)
        let verdicts = Dictionary(uniqueKeysWithValues: comparison.cases.map { ($0.key.device, $0.verdict) })
        #expect(verdicts == ["same": .same, "slower": .slower, "faster": .faster, "noisy": .ambiguous])
        #expect(comparison.regressions.map(\.key.device) == ["slower"])
        let gate = comparison.gateOutcome(current: current)
        #expect(gate.status == .regression && gate.message == "1 case(s) slower than the baseline beyond 5%: slower openblas gemm fp32 NN 8x8x8")
        let slower = comparison.cases.first { $0.key.device == "slower" }!
        #expect(slower.ratioLow! > 1.4 && slower.ratioHigh! < 1.6 && slower.pValue! < RunComparison.alpha)
        #expect(comparison.onlyInBaseline.map(\.device) == ["gone"] && comparison.onlyInCurrent.map(\.device) == ["new"])
        #expect(comparison.environmentChanges.contains("BLAS core: Haswell -> SkylakeX"))
        #expect(comparison.environmentChanges.contains("repetitions per run: 10 -> 5"))

        let junit = ComparisonReport.junit(comparison)
        #expect(XMLParser(data: Data(junit.utf8)).parse())
        #expect(junit.contains(#"failures="1""#) && junit.contains(#"type="regression""#))
        let markdown = ComparisonReport.markdown(comparison)
        #expect(markdown.contains("**slower**") && markdown.contains("only in baseline: gone") && markdown.contains("SkylakeX"))
        #expect(ComparisonReport.table(comparison).contains("1 same, 1 slower, 1 faster, 1 ambiguous, 0 not comparable; 2 unmatched"))
    }

    @Test func aMachineThatMovedIsJudgedAgainstAndSaid() throws {
        // Every implementation 8% slower: the machine, not a regression; a case 10% slower still on
        // top of it is named, alone.
        var synthetic = SyntheticRuns(seed: 17)
        var caught = 0
        for _ in 0..<20 {
            let baseline = synthetic.implementationsDocument(runs: 10)
            let moved = synthetic.implementationsDocument(runs: 4) { implementation, index in
                1.08 * (implementation == "clblast" && index == 2 ? 1.10 : 1)
            }
            let comparison = RunComparison(baseline: baseline, named: "b", current: moved, named: "c", threshold: 0.05)
            #expect(abs(comparison.machineRatio - 1.08) < 0.02)
            #expect(comparison.regressions.allSatisfy { $0.key.implementation == "clblast" && $0.key.caseDescription.contains("10x8x8") })
            caught += comparison.regressions.count
            #expect(ComparisonReport.caveat(comparison)?.contains("every implementation ran at least 1.0") == true)
        }
        #expect(caught >= 18, "a 10% slowdown on a machine 8% slower named in \(caught) of 20")
        let unchanged = RunComparison(baseline: synthetic.implementationsDocument(runs: 10), named: "b", current: synthetic.implementationsDocument(runs: 10), named: "c", threshold: 0.05)
        #expect(unchanged.regressions.isEmpty)
    }

    @Test func oneImplementationSlowerIsNeverTakenForTheMachine() {
        // Every OpenBLAS case 25% slower, and the machine 5% slower besides: only OpenBLAS is named.
        var synthetic = SyntheticRuns(seed: 29)
        for machine in [1.0, 1.05] {
            for _ in 0..<10 {
                let baseline = synthetic.implementationsDocument(runs: 10)
                let slowed = synthetic.implementationsDocument(runs: 4) { implementation, _ in machine * (implementation == "openblas" ? 1.25 : 1) }
                let comparison = RunComparison(baseline: baseline, named: "b", current: slowed, named: "c", threshold: 0.05)
                #expect(comparison.machineRatio < machine * 1.03)
                #expect(Set(comparison.regressions.map(\.key.implementation)) == ["openblas"] && comparison.regressions.count == 5)
            }
        }
    }

    @Test func aNoisierPhaseWidensTheVerdictsInsteadOfNamingBystanders() throws {
        // The current runs fall in a phase that moves each case by its own few percent (sd 3%), which the
        // runs' own floors cannot show: the cases' scatter widens the verdicts.
        var synthetic = SyntheticRuns(seed: 31)
        var alarms = 0
        var widenings: [Double] = []
        for _ in 0..<50 {
            let baseline = synthetic.implementationsDocument(runs: 10)
            var offsets = [Double]()
            for _ in 0..<20 { offsets.append(exp(0.03 * synthetic.normal())) }
            var next = offsets.makeIterator()
            let noisy = synthetic.implementationsDocument(runs: 4) { _, _ in next.next()! }
            let comparison = RunComparison(baseline: baseline, named: "b", current: noisy, named: "c", threshold: 0.05)
            alarms += comparison.regressions.isEmpty ? 0 : 1
            widenings.append(comparison.noiseWidening)
        }
        #expect(alarms <= 2, "\(alarms) of 50 comparisons in a noisy phase named a slower case")
        #expect(Statistics.median(widenings) > 1.5)
    }

    @Test func aCaseThatFailedIsNotCompared() {
        var synthetic = SyntheticRuns(seed: 9)
        let baseline = synthetic.document(["a": 1e-3], runs: 3)
        var current = baseline
        current.results[0].status = .failed
        current.results[0].reason = "result differs from the fp64 reference"
        let comparison = RunComparison(baseline: baseline, named: "b", current: current, named: "c", threshold: 0.05)
        #expect(comparison.cases.map(\.verdict) == [.notComparable])
        #expect(comparison.gateOutcome(current: current).status == .caseFailed)
        #expect(RunComparison(baseline: baseline, named: "b", current: baseline, named: "c", threshold: 0.05).gateOutcome(current: baseline).status == .ok)
        #expect(ComparisonReport.junit(comparison).contains(#"type="case-failed""#))
    }

    @Test func runsMergeIntoOneDocumentThatKnowsItsRuns() throws {
        var synthetic = SyntheticRuns(seed: 13)
        let first = synthetic.document(["a": 1e-3, "b": 2e-3], runs: 1)
        let second = synthetic.document(["a": 1e-3, "b": 2e-3], runs: 2)
        let merged = try RunDocument.merging([first, second], names: ["first", "second"])
        #expect(merged.runCount == 3)
        let stats = try #require(merged.results[0].stats)
        #expect(stats.repetitions.map(\.run) == Array(repeating: 0, count: 10) + Array(repeating: 1, count: 10) + Array(repeating: 2, count: 10))
        #expect(stats.kernel.count == first.results[0].stats!.kernel.count + second.results[0].stats!.kernel.count)
        #expect(merged.results[0].gflops == merged.results[0].flops / stats.kernel.median / 1e9)
        #expect(RepetitionSpread(stats)?.runs == 3)

        let other = synthetic.document(["a": 1e-3, "c": 2e-3], runs: 1)
        #expect { try RunDocument.merging([first, other], names: ["first", "other"]) } throws: {
            "\($0)" == "other measured other cases than first; merge runs of the same command"
        }
    }

    @Test func disturbedRepetitionsAreNotCounted() throws {
        var synthetic = SyntheticRuns(seed: 1)
        var stats = synthetic.stats(seconds: 1e-3, runs: 1, betweenRuns: 0, withinRun: 0.001)
        for index in 0..<4 {
            stats.repetitions[index].kernelMedian *= 1.5
            stats.repetitions[index].disturbed = true
        }
        let spread = try #require(RepetitionSpread(stats))
        #expect(abs(exp(spread.floor) / 1e-3 - 1) < 0.01)
        #expect(spread.repetitions == 6)
    }

    @Test func benchmarkJSONIsWhatGithubActionBenchmarkReads() throws {
        var synthetic = SyntheticRuns(seed: 2)
        let data = try ComparisonReport.benchmarkJSON(synthetic.document(["host": 1e-3], runs: 1))
        let entries = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries[0]["unit"] as? String == "GFLOP/s" && (entries[0]["value"] as? Double ?? 0) > 0)
        #expect((entries[0]["name"] as? String)?.hasPrefix("host openblas gemm fp32 NN 8x8x8") == true)
    }

    @Test func resultFilesThatCannotBeComparedSayWhy() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-run-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        #expect { try RunDocument.load(from: url) } throws: { "\($0)".contains("no result file") }
        try Data("{not json".utf8).write(to: url)
        #expect { try RunDocument.load(from: url) } throws: { "\($0)".contains("not a NodeBench result file") }
        try Data(#"{"schemaVersion": 2}"#.utf8).write(to: url)
        #expect { try RunDocument.load(from: url) } throws: { "\($0)".contains("has result schema 2; this nodebench reads 3") }
        try Data(#"{"schemaVersion": 3, "results": 3}"#.utf8).write(to: url)
        #expect { try RunDocument.load(from: url) } throws: { "\($0)".contains("corrupt") }
    }
}
