import Foundation

/// A comparison as people and CI systems read it: a text table, Markdown for a job summary or a
/// pull-request comment, JUnit XML (each case a test, a regression a failure), and the
/// `customBiggerIsBetter` JSON of github-action-benchmark.
public enum ComparisonReport {
    public static func table(_ comparison: RunComparison) -> String {
        var table = TextTable([
            ("case", .left), ("baseline ms", .right), ("current ms", .right), ("time ratio", .right), ("allowed", .right), ("p", .right),
            ("verdict", .left),
        ])
        for row in rows(comparison) { table.add(row) }
        var text = "\(comparison.currentName) against \(comparison.baselineName) (threshold \(percent(comparison.threshold)))\n"
        text += table.render()
        text += summary(comparison) + "\n"
        for key in comparison.onlyInBaseline { text += "only in \(comparison.baselineName): \(key)\n" }
        for key in comparison.onlyInCurrent { text += "only in \(comparison.currentName): \(key)\n" }
        for change in comparison.environmentChanges { text += "environment changed: \(change)\n" }
        return text
    }

    public static func markdown(_ comparison: RunComparison) -> String {
        var text = "### NodeBench: \(comparison.currentName) against \(comparison.baselineName)\n\n"
        text += "\(summary(comparison)) (threshold \(percent(comparison.threshold)), one-sided Mann-Whitney U, p < \(RunComparison.alpha)).\n\n"
        if !comparison.environmentChanges.isEmpty {
            text += "**Environment changed:** " + comparison.environmentChanges.map { "`\($0)`" }.joined(separator: ", ") + "\n\n"
        }
        text += "| case | baseline ms | current ms | time ratio | allowed | p | verdict |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n"
        for row in rows(comparison) {
            let cells = row.enumerated().map { index, cell in index == 6 && cell == "slower" ? "**slower**" : cell }
            text += "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n"
        }
        let unmatched = comparison.onlyInBaseline.map { "only in baseline: \($0)" } + comparison.onlyInCurrent.map { "only in current: \($0)" }
        if !unmatched.isEmpty { text += "\n" + unmatched.map { "- \($0)" }.joined(separator: "\n") + "\n" }
        return text
    }

    public static func junit(_ comparison: RunComparison) -> String {
        let failures = comparison.cases.filter { $0.verdict == .slower || $0.current.status == .failed }.count
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += #"<testsuite name="nodebench" tests="\#(comparison.cases.count)" failures="\#(failures)">"# + "\n"
        for entry in comparison.cases {
            let name = xmlEscaped(entry.key.description)
            xml += #"  <testcase classname="nodebench.\#(xmlEscaped(entry.key.device))" name="\#(name)""#
            let time = entry.current.stats?.kernel.median ?? 0
            xml += #" time="\#(String(format: "%.6f", time))">"# + "\n"
            if entry.verdict == .slower {
                let message = "slower: time ratio \(format(entry.timeRatio)) beyond \(percent(comparison.threshold)), p \(format(entry.pValue))"
                xml += #"    <failure message="\#(xmlEscaped(message))" type="regression"/>"# + "\n"
            } else if entry.current.status == .failed {
                xml += #"    <failure message="\#(xmlEscaped(entry.current.reason ?? "failed"))" type="case-failed"/>"# + "\n"
            } else if entry.verdict == .notComparable {
                xml += #"    <skipped message="\#(xmlEscaped(entry.current.reason ?? entry.baseline.reason ?? "not comparable"))"/>"# + "\n"
            }
            xml += "  </testcase>\n"
        }
        return xml + "</testsuite>\n"
    }

    /// github-action-benchmark's `customBiggerIsBetter` input: one entry per verified case, in GFLOP/s.
    public static func benchmarkJSON(_ document: RunDocument) throws -> Data {
        let entries = document.results.compactMap { result -> [String: Any]? in
            guard let gflops = result.gflops else { return nil }
            return ["name": CaseKey(result).description, "unit": "GFLOP/s", "value": gflops,
                    "extra": "median \(String(format: "%.4f", (result.stats?.kernel.median ?? 0) * 1e3)) ms"]
        }
        return try JSONSerialization.data(withJSONObject: entries, options: [.prettyPrinted, .sortedKeys])
    }

    /// "40 same, 2 slower, 1 faster, 0 inconclusive, 1 not comparable; 2 unmatched".
    public static func summary(_ comparison: RunComparison) -> String {
        let counts = Dictionary(grouping: comparison.cases, by: \.verdict).mapValues(\.count)
        let verdicts: [RunComparison.Verdict] = [.same, .slower, .faster, .inconclusive, .notComparable]
        let unmatched = comparison.onlyInBaseline.count + comparison.onlyInCurrent.count
        return verdicts.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ") + "; \(unmatched) unmatched"
    }

    private static func rows(_ comparison: RunComparison) -> [[String]] {
        comparison.cases.map { entry in
            [
                entry.key.description, milliseconds(entry.baseline), milliseconds(entry.current), format(entry.timeRatio),
                entry.allowedChange.map { "±" + percent($0) } ?? "-", entry.pValue.map { String(format: "%.3f", $0) } ?? "-", entry.verdict.rawValue,
            ]
        }
    }

    private static func milliseconds(_ result: CaseResult) -> String {
        result.stats.map { String(format: "%.3f", $0.kernel.median * 1e3) } ?? result.status.rawValue
    }

    private static func format(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }

    private static func percent(_ fraction: Double) -> String { String(format: "%.0f%%", fraction * 100) }
}
