import ArgumentParser
import Foundation
import NodeBenchKit

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Gate on a baseline: exit 2 when a case is slower beyond the threshold.",
        discussion: """
            Compares --current result files with the baseline, or first runs the baseline's suite --runs \
            times, each in its own process (`run` options after `--` replace the suite: \
            `check --baseline B.json -- --suite quick --device host`). \
            Exit status: 0 nothing regressed, 2 a case is slower, 1 a case failed or could not be \
            verified, 64 usage error (including a missing, corrupt or incompatible baseline).
            """)

    @Option(help: "The baseline result file (e.g. results/baselines/<machine type>.json).")
    var baseline: String

    @Option(
        parsing: .upToNextOption,
        help: "Current result files (several are one measurement of several runs); without them, the baseline's suite runs now.")
    var current: [String] = []

    @Option(help: "Runs the measurement check makes is made of, each its own process.")
    var runs = RunComparison.defaultCheckRuns

    @Argument(parsing: .postTerminator, help: "`nodebench run` options for the runs check makes.")
    var runArguments: [String] = []

    @OptionGroup var options: ComparisonOptions

    func run() throws {
        let baselineDocument = try RunDocument.load(path: baseline, role: "baseline")
        let (currentDocument, currentName) = current.isEmpty
            ? (try runNow(suite: baselineDocument.suite), "this run")
            : (try RunDocument.load(paths: current, role: "current run"), current.joined(separator: " + "))
        let comparison = RunComparison(
            baseline: baselineDocument, named: baseline, current: currentDocument, named: currentName, threshold: options.threshold)
        try options.report(comparison, current: currentDocument)
        if let caveat = ComparisonReport.caveat(comparison) { Console.note("warning: \(caveat)") }
        for change in comparison.environmentChanges {
            Console.note("warning: the environment differs from the baseline's: \(change)")
        }
        let (status, message) = comparison.gateOutcome(current: currentDocument)
        if let message { Console.note("check: \(message)") }
        if status != .ok { throw ExitCode(status.rawValue) }
    }

    func validate() throws {
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be from 1 to 100") }
    }

    /// The suite in child processes (their progress on stderr), by default the baseline's without peaks.
    private func runNow(suite: String) throws -> RunDocument {
        try ChildRun.runs(
            runArguments.isEmpty ? Baseline.checkRunArguments(suite: suite) : runArguments, count: runs, tag: "check", progress: FileHandle.standardError,
            log: Console.note)
    }
}
