import Foundation

/// A comparison as people and CI systems read it: a text table, Markdown for a job summary or a
/// pull-request comment, JUnit XML (each case a test, a regression a failure), and the
/// `customBiggerIsBetter` JSON of github-action-benchmark.
public enum ComparisonReport {
    public static func table(_ comparison: RunComparison) -> String {
        var table = TextTable(columns.map { ($0, $0 == "case" || $0 == "verdict" ? .left : .right) })
        for row in rows(comparison) { table.add(row) }
        var text = "\(comparison.currentName) against \(comparison.baselineName) (threshold \(percent(comparison.threshold)))\n"
        text += table.render()
        text += summary(comparison) + "\n"
        if let caveat = caveat(comparison) { text += "note: \(caveat)\n" }
        for key in comparison.onlyInBaseline { text += "only in \(comparison.baselineName): \(key)\n" }
        for key in comparison.onlyInCurrent { text += "only in \(comparison.currentName): \(key)\n" }
        for change in comparison.environmentChanges { text += "environment changed: \(change)\n" }
        return text
    }

    public static func markdown(_ comparison: RunComparison) -> String {
        var text = "### NodeBench: \(comparison.currentName) against \(comparison.baselineName)\n\n"
        text += "\(summary(comparison)) (threshold \(percent(comparison.threshold)); p Holm-adjusted over all cases, slower or faster "
            + "needs p < \(RunComparison.alpha); detectable: the smallest slowdown this baseline catches 19 times in 20).\n\n"
        if let caveat = caveat(comparison) { text += "**Note:** \(caveat)\n\n" }
        if !comparison.environmentChanges.isEmpty {
            text += "**Environment changed:** " + comparison.environmentChanges.map { "`\($0)`" }.joined(separator: ", ") + "\n\n"
        }
        text += "| " + columns.joined(separator: " | ") + " |\n|" + columns.map { $0 == "case" || $0 == "verdict" ? " --- |" : " ---: |" }.joined() + "\n"
        for row in rows(comparison) {
            let cells = row.map { $0 == "slower" ? "**slower**" : $0 }
            text += "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n"
        }
        let unmatched = comparison.onlyInBaseline.map { "only in baseline: \($0)" } + comparison.onlyInCurrent.map { "only in current: \($0)" }
        if !unmatched.isEmpty { text += "\n" + unmatched.map { "- \($0)" }.joined(separator: "\n") + "\n" }
        return text
    }

    public static func junit(_ comparison: RunComparison) -> String {
        let failures = comparison.cases.filter { $0.verdict == .slower || $0.current.status.isFailure }.count
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += #"<testsuite name="nodebench" tests="\#(comparison.cases.count)" failures="\#(failures)">"# + "\n"
        for entry in comparison.cases {
            let name = xmlEscaped(entry.key.description)
            xml += #"  <testcase classname="nodebench.\#(xmlEscaped(entry.key.device))" name="\#(name)""#
            let time = entry.current.stats?.kernel.median ?? 0
            xml += #" time="\#(String(format: "%.6f", time))">"# + "\n"
            if entry.verdict == .slower {
                let message = "slower: time ratio \(format(entry.timeRatio)) (95% \(interval(entry))) beyond \(percent(comparison.threshold)), "
                    + "p \(format(entry.pValue))"
                xml += #"    <failure message="\#(xmlEscaped(message))" type="regression"/>"# + "\n"
            } else if entry.current.status.isFailure {
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

    /// "36 same, 2 slower, 1 faster, 1 ambiguous, 1 not comparable; 2 unmatched".
    public static func summary(_ comparison: RunComparison) -> String {
        let counts = Dictionary(grouping: comparison.cases, by: \.verdict).mapValues(\.count)
        let verdicts: [RunComparison.Verdict] = [.same, .slower, .faster, .ambiguous, .notComparable]
        let unmatched = comparison.onlyInBaseline.count + comparison.onlyInCurrent.count
        return verdicts.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ") + "; \(unmatched) unmatched"
    }

    /// A baseline's cases with the slowdown `check` catches in each, best first, so a team knows
    /// what the gate protects and which cases need more runs or repetitions.
    public static func protection(_ baseline: RunDocument, currentRuns: Int, threshold: Double) -> String {
        let changes = RunComparison.detectableChanges(of: baseline, currentRuns: currentRuns, threshold: threshold)
            .sorted { ($0.change ?? .infinity) < ($1.change ?? .infinity) }
        var table = TextTable([("case", .left), ("detectable", .right)])
        for (key, change) in changes { table.add([key.description, change.map(percent) ?? "-"]) }
        let caught = changes.filter { ($0.change ?? .infinity) <= 0.1 }.count
        return table.render()
            + "\(caught) of \(changes.count) cases: a 10% slowdown is caught 19 times in 20 by `check` (\(currentRuns) runs, threshold \(percent(threshold)))\n"
    }

    /// What limits the verdicts, when something does.
    public static func caveat(_ comparison: RunComparison) -> String? {
        let ratio = comparison.machineRatio
        // Shifts under half a percent are applied but not worth a note.
        let shift = abs(log(ratio)) < log(1.005) ? nil
            : "every implementation ran \(ratio > 1 ? "at least" : "at most") \(format(ratio))x its baseline time: the machine's load, "
                + "clocks or neighbours differ from when the baseline was saved, and each case was judged against that, so a change that "
                + "slowed every case alike would read the same; look at the machine before the code"
        let widening = comparison.noiseWidening < 1.005 ? nil
            : "the cases scattered \(String(format: "%.2f", comparison.noiseWidening))x as widely as their runs' noise predicts (a noisier "
                + "phase of the machine): intervals, p-values and detectable changes are widened to match"
        let caveats = [shift, widening, caveat(runs: comparison.baselineRuns)].compactMap { $0 }
        return caveats.isEmpty ? nil : caveats.joined(separator: "; ")
    }

    /// The caveat of a baseline of `runs` runs.
    public static func caveat(runs: Int) -> String? {
        guard runs == 1 else { return nil }
        return "the baseline holds one run, so the noise between runs is unknown and only the repetitions within a run are counted; "
            + "save baselines from several runs (`nodebench baseline save NAME --runs 10`)"
    }

    static let columns = ["case", "baseline floor ms", "current floor ms", "time ratio", "95% interval", "detectable", "p", "verdict"]

    static func rows(_ comparison: RunComparison) -> [[String]] {
        comparison.cases.map { entry in
            [
                entry.key.description, milliseconds(entry.baselineFloor, entry.baseline), milliseconds(entry.currentFloor, entry.current),
                format(entry.timeRatio), interval(entry),
                entry.detectableChange.map { percent($0) } ?? "-", entry.pValue.map { String(format: "%.3f", $0) } ?? "-", entry.verdict.rawValue,
            ]
        }
    }

    private static func interval(_ entry: RunComparison.Case) -> String {
        guard let low = entry.ratioLow, let high = entry.ratioHigh else { return "-" }
        return "\(format(low))-\(format(high))"
    }

    /// A compared side's floor, or why it has none.
    private static func milliseconds(_ floor: Double?, _ result: CaseResult) -> String {
        floor.map { String(format: "%.3f", $0 * 1e3) } ?? (result.status == .ok ? "-" : result.status.rawValue)
    }

    private static func format(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }

    private static func percent(_ fraction: Double) -> String {
        fraction < 10 ? String(format: "%.0f%%", fraction * 100) : ">999%"
    }
}
