import ArgumentParser
import NodeBenchKit

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare result files case by case: medians, ratios and a verdict from the raw samples.",
        discussion: """
            Every later file is compared with the first. A case is slower or faster when its median \
            moved by more than --threshold and a one-sided Mann-Whitney U test on the samples gives \
            p < 0.05; same when it moved less; inconclusive otherwise. Cases in one file only are listed.
            """)

    @Argument(help: "Result files: the first is the baseline.")
    var files: [String]

    @OptionGroup var options: ComparisonOptions

    func validate() throws {
        guard files.count >= 2 else { throw ValidationError("compare needs at least two result files") }
    }

    func run() throws {
        let baseline = try loadRun(files[0], role: "baseline")
        for path in files.dropFirst() {
            let current = try loadRun(path, role: "compared file")
            let comparison = RunComparison(baseline: baseline, named: files[0], current: current, named: path, threshold: options.threshold)
            try options.report(comparison, current: current)
        }
    }
}
