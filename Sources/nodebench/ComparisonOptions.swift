import ArgumentParser
import Foundation
import NodeBenchKit

/// How `compare` and `check` judge and where they write what CI systems read.
struct ComparisonOptions: ParsableArguments {
    @Option(help: "Smallest change of a case's time that counts, in percent (e.g. 5%).", transform: parsePercent)
    var threshold: Double = RunComparison.defaultThreshold

    @Option(help: "Also write the comparison as Markdown (a CI job summary or pull-request comment).")
    var markdown: String?

    @Option(help: "Also write the comparison as JUnit XML: each case a test, a regression a failure.")
    var junit: String?

    @Option(name: .customLong("benchmark-json"), help: "Also write the current run for github-action-benchmark (customBiggerIsBetter).")
    var benchmarkJSON: String?

    /// Prints the table and writes the requested files.
    func report(_ comparison: RunComparison, current: RunDocument) throws {
        print(ComparisonReport.table(comparison), terminator: "")
        if let markdown { try OutputFile.write(ComparisonReport.markdown(comparison), to: markdown) }
        if let junit { try OutputFile.write(ComparisonReport.junit(comparison), to: junit) }
        if let benchmarkJSON { try OutputFile.write(try ComparisonReport.benchmarkJSON(current), to: URL(fileURLWithPath: benchmarkJSON)) }
    }
}

/// "5%", "5" or "0.5%" as a fraction.
func parsePercent(_ text: String) throws -> Double {
    let number = text.hasSuffix("%") ? String(text.dropLast()) : text
    guard let value = Double(number), value >= 0, value.isFinite else {
        throw ValidationError("--threshold '\(text)' must be a percentage such as 5%")
    }
    return value / 100
}
