import ArgumentParser
import Foundation
import NodeBenchKit

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Gate on a baseline: exit 2 when a case is slower beyond the threshold.",
        discussion: """
            Compares CURRENT (a result file) with the baseline, or runs the baseline's suite first \
            (`run` options after `--` replace that: `check --baseline B.json -- --suite quick --device host`). \
            Exit status: 0 nothing regressed, 2 a case is slower, 1 a case failed or could not be \
            verified, 64 usage error (including a missing, corrupt or incompatible baseline).
            """)

    @Option(help: "The baseline result file (e.g. results/baselines/<machine type>.json).")
    var baseline: String

    @Argument(help: "The current result file; without it, the baseline's suite runs now.")
    var current: String?

    @Argument(parsing: .postTerminator, help: "`nodebench run` options for the run check makes.")
    var runArguments: [String] = []

    @OptionGroup var options: ComparisonOptions

    func run() throws {
        let baselineDocument = try loadRun(baseline, role: "baseline")
        let (currentDocument, currentName) = try current.map { (try loadRun($0, role: "current run"), $0) }
            ?? (try runNow(suite: baselineDocument.suite), "this run")
        let comparison = RunComparison(
            baseline: baselineDocument, named: baseline, current: currentDocument, named: currentName, threshold: options.threshold)
        try options.report(comparison, current: currentDocument)
        for change in comparison.environmentChanges {
            Console.note("warning: the environment differs from the baseline's: \(change)")
        }
        if currentDocument.results.contains(where: { $0.status == .failed }) {
            Console.note("check: a case failed or could not be verified (see its reason above)")
            throw ExitCode(ExitStatus.caseFailed.rawValue)
        }
        if !comparison.regressions.isEmpty {
            Console.note("check: \(comparison.regressions.count) case(s) slower than the baseline beyond \(Int(options.threshold * 100))%: "
                + comparison.regressions.map(\.key.description).joined(separator: "; "))
            throw ExitCode(ExitStatus.regression.rawValue)
        }
    }

    /// The suite in a child process (its progress on stderr), by default the baseline's without peaks.
    private func runNow(suite: String) throws -> RunDocument {
        try runInChild(runArguments.isEmpty ? ["--suite", suite, "--no-peak"] : runArguments, tag: "check")
    }
}
