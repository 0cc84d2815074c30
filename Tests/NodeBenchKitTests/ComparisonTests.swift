import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@testable import NodeBenchKit

@Suite struct ComparisonTests {
    @Test func mannWhitneyMatchesHandComputedValues() {
        // U = 9 of 9, n = m = 3: z = (9 - 4.5 - 0.5) / sqrt(3·3·7/12) = 1.746, p = 0.0404.
        #expect(abs(MannWhitney.pValue([4, 5, 6], greaterThan: [1, 2, 3]) - 0.0404) < 1e-3)
        #expect(MannWhitney.pValue([1, 2, 3], greaterThan: [4, 5, 6]) > 0.95)
        #expect(MannWhitney.pValue([1, 1, 1], greaterThan: [1, 1, 1]) == 1)  // all tied: no evidence
    }

    static func document(_ medians: [String: [Double]], blasCore: String = "Haswell") -> RunDocument {
        let inventory = AttentionTests.inventory
        var document = RunDocument(
            tool: .current, suite: "test", seed: 1, sampling: Suite.named(.quick).sampling, node: NodeDescription(inventory))
        document.node.blas.coreName = blasCore
        for (name, samples) in medians.sorted(by: { $0.key < $1.key }) {
            var device = inventory.devices[0]
            device.id = name
            var result = CaseResult(
                gemm: GEMMCase(shape: GEMMShape(m: 8, n: 8, k: 8), layout: .nn, dtype: .fp32), device: device, implementation: "openblas",
                status: .ok)
            result.stats = CaseResult.TimingStats(unit: "s", kernel: Statistics(samples)!, wall: Statistics(samples)!)
            result.gflops = result.flops / result.stats!.kernel.median / 1e9
            document.results.append(result)
        }
        return document
    }

    @Test func verdictsNeedAnEffectBeyondTheNoiseAndTheSamplesToAgree() {
        let steady = [1.0, 1.01, 0.99, 1.0, 1.02, 0.98]
        let baseline = Self.document(["same": steady, "slower": steady, "faster": steady, "noisy": [1, 1.5, 0.6, 1.2, 0.8, 1], "gone": steady])
        let current = Self.document(
            ["same": steady.map { $0 * 1.03 }, "slower": steady.map { $0 * 1.5 }, "faster": steady.map { $0 * 0.5 },
             "noisy": [1.3, 1.9, 0.9, 1.5, 1.1, 1.3], "new": steady],
            blasCore: "SkylakeX")
        let comparison = RunComparison(baseline: baseline, named: "a", current: current, named: "b", threshold: 0.05)
        let verdicts = Dictionary(uniqueKeysWithValues: comparison.cases.map { ($0.key.device, $0.verdict) })
        #expect(verdicts == ["same": .same, "slower": .slower, "faster": .faster, "noisy": .same])
        #expect(comparison.regressions.map(\.key.device) == ["slower"])
        #expect(comparison.onlyInBaseline.map(\.device) == ["gone"] && comparison.onlyInCurrent.map(\.device) == ["new"])
        #expect(comparison.environmentChanges.contains("BLAS core: Haswell -> SkylakeX"))

        let junit = ComparisonReport.junit(comparison)
        let parser = XMLParser(data: Data(junit.utf8))
        #expect(parser.parse())
        #expect(junit.contains(#"failures="1""#) && junit.contains(#"type="regression""#))
        let markdown = ComparisonReport.markdown(comparison)
        #expect(markdown.contains("**slower**") && markdown.contains("only in baseline: gone") && markdown.contains("SkylakeX"))
    }

    @Test func benchmarkJSONIsWhatGithubActionBenchmarkReads() throws {
        let data = try ComparisonReport.benchmarkJSON(Self.document(["host": [1e-3, 1e-3, 1e-3]]))
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
        try Data(#"{"schemaVersion": 1}"#.utf8).write(to: url)
        #expect { try RunDocument.load(from: url) } throws: { "\($0)".contains("has result schema 1; this nodebench reads 2") }
        try Data(#"{"schemaVersion": 2, "results": 3}"#.utf8).write(to: url)
        #expect { try RunDocument.load(from: url) } throws: { "\($0)".contains("corrupt") }
    }
}
