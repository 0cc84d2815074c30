import ArgumentParser
import NodeBenchKit

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare result files case by case: each side's floor, the time ratio and its interval, and a verdict.",
        discussion: """
            Every later file is compared with the first. A run's floor is its fastest repetition. A \
            case is slower or faster when its floor moved by more than --threshold and a t-test on the \
            runs' floors, Holm-adjusted over all cases, gives p < 0.01; same when the ratio's 95% \
            interval lies inside the threshold; ambiguous otherwise. Cases in one file only are listed.
            """)

    @Argument(help: "Result files: the first is the baseline.")
    var files: [String]

    @OptionGroup var options: ComparisonOptions

    func validate() throws {
        guard files.count >= 2 else { throw ValidationError("compare needs at least two result files") }
    }

    func run() throws {
        let baseline = try RunDocument.load(path: files[0], role: "baseline")
        for path in files.dropFirst() {
            let current = try RunDocument.load(path: path, role: "compared file")
            let comparison = RunComparison(baseline: baseline, named: files[0], current: current, named: path, threshold: options.threshold)
            try options.report(comparison, current: current)
        }
    }
}
