import Foundation

/// What one case's repetitions say, on the log scale of time (so that changes read as ratios):
/// the center of each run it holds, and how far each repetition lies from its run's center.
/// Repetitions a machine-wide disturbance hit are left out, unless that leaves a run none.
struct RepetitionSpread {
    /// Median of each run's log repetition medians.
    let runCenters: [Double]
    /// |log repetition median - its run's center|, every repetition of every run.
    let deviations: [Double]
    let repetitions: Int

    init?(_ stats: CaseResult.TimingStats?) {
        guard let summaries = stats?.repetitions, summaries.allSatisfy({ $0.kernelMedian > 0 }) else { return nil }
        let runs = Dictionary(grouping: summaries, by: \.run).sorted { $0.key < $1.key }.map { _, run in
            let quiet = run.filter { !$0.disturbed }
            return (quiet.isEmpty ? run : quiet).map { log($0.kernelMedian) }
        }
        guard !runs.isEmpty else { return nil }
        runCenters = runs.map(Statistics.median)
        deviations = zip(runs, runCenters).flatMap { run, center in run.map { abs($0 - center) } }
        repetitions = runs.reduce(0) { $0 + $1.count }
    }

    /// The mean of the runs' centers: log of the case's typical time.
    var center: Double { runCenters.reduce(0, +) / Double(runCenters.count) }
    var runs: Int { runCenters.count }
}

/// How much the center of one whole run of a case varies from run to run (log scale), estimated
/// two ways, of which the larger counts: from the spread of the repetitions within each run (what
/// the median of a run's repetitions would scatter by if runs differed in nothing else), and,
/// where a baseline holds several runs, from the spread of those runs' centers (what else differs
/// between runs: thread placement, clocks, the machine's neighbours).
struct RunNoise {
    let variance: Double
    let degreesOfFreedom: Double

    /// The smallest within-run scatter assumed (0.1%): timers and identical samples show none.
    static let minimumScatter = 1e-3

    init(within spreads: [RepetitionSpread], between runSpreads: [RepetitionSpread]) {
        let deviations = spreads.flatMap(\.deviations)
        // 1.4826 x the median absolute deviation estimates a standard deviation, robust to the odd
        // repetition a slow phase of the machine hit; a median of R values scatters sqrt(π/2) times
        // more than their mean would.
        let scatter = max(RunNoise.minimumScatter, 1.4826 * Statistics.median(deviations))
        let repetitionsPerRun = Double(spreads.reduce(0) { $0 + $1.repetitions }) / Double(max(1, spreads.reduce(0) { $0 + $1.runs }))
        let withinVariance = Double.pi / 2 * scatter * scatter / max(1, repetitionsPerRun)
        let withinFreedom = Double(max(1, spreads.reduce(0) { $0 + $1.repetitions - $1.runs }))

        let several = runSpreads.filter { $0.runs >= 2 }
        let betweenFreedom = Double(several.reduce(0) { $0 + $1.runs - 1 })
        let betweenVariance = betweenFreedom == 0 ? 0 : several.reduce(0.0) { total, spread in
            let center = spread.center
            return total + spread.runCenters.reduce(0) { $0 + ($1 - center) * ($1 - center) }
        } / betweenFreedom

        let setByRuns = betweenVariance > withinVariance
        variance = setByRuns ? betweenVariance : withinVariance
        degreesOfFreedom = setByRuns ? betweenFreedom : withinFreedom
    }

    /// The smallest slowdown (a fraction: 0.1 is 10%) that a comparison of `currentRuns` runs with
    /// a baseline of `baselineRuns` runs catches with probability `power`: significant after Holm
    /// among `cases` cases at level `alpha`, and beyond `threshold`.
    func detectableChange(baselineRuns: Int, currentRuns: Int, cases: Int, threshold: Double, alpha: Double, power: Double) -> Double {
        let standardError = (variance * (1 / Double(currentRuns) + 1 / Double(baselineRuns))).squareRoot()
        let critical = StudentT.quantile(1 - alpha / (2 * Double(max(1, cases))), df: degreesOfFreedom)
        let margin = StudentT.quantile(power, df: degreesOfFreedom)
        let change = max((critical + margin) * standardError, log(1 + threshold) + margin * standardError)
        return exp(change) - 1
    }
}
