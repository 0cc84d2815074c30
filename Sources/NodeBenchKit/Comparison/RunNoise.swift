import Foundation

/// What one case's repetitions say, on the log scale of time (so that changes read as ratios):
/// the floor of each run it holds, and how far each repetition lies from its run's median.
///
/// A run's floor is its fastest repetition. The noise of a shared machine only ever slows a
/// kernel down (a neighbour, an interrupt, a thread moved), and it comes in phases longer than
/// one repetition, so a run's median moves with how many repetitions a slow phase hit while its
/// floor does not: on the 2-core reference machine the floor varied 2.3% between runs (median
/// case of the quick suite), the median 10%. The same reasoning makes BenchmarkTools.jl judge by
/// the minimum (Chen and Revels, "Robust benchmarking in noisy environments", 2016).
/// Repetitions a machine-wide disturbance hit are left out, unless that leaves a run none.
struct RepetitionSpread {
    /// Log of each run's fastest repetition median.
    let runFloors: [Double]
    /// |log repetition median - the median of its run's|, every repetition of every run.
    let deviations: [Double]
    let repetitions: Int

    init?(_ stats: CaseResult.TimingStats?) {
        guard let summaries = stats?.repetitions, summaries.allSatisfy({ $0.kernelMedian > 0 }) else { return nil }
        let runs = Dictionary(grouping: summaries, by: \.run).sorted { $0.key < $1.key }.map { _, run in
            let quiet = run.filter { !$0.disturbed }
            return (quiet.isEmpty ? run : quiet).map { log($0.kernelMedian) }
        }
        guard !runs.isEmpty else { return nil }
        runFloors = runs.map { $0.min()! }
        deviations = runs.flatMap { run in
            let median = Statistics.median(run)
            return run.map { abs($0 - median) }
        }
        repetitions = runs.reduce(0) { $0 + $1.count }
    }

    /// The mean of the runs' floors: log of the case's time when nothing slowed it.
    var floor: Double { runFloors.reduce(0, +) / Double(runFloors.count) }
    var runs: Int { runFloors.count }
}

/// How much a run's floor varies from run to run (log scale). Where the runs compared hold
/// several runs of a case, their floors' spread says it. With one run on each side nothing says
/// it, and one repetition's scatter within its run stands in: it bounds what the fastest of
/// several repetitions scatters by, so the gate stays careful rather than blind.
struct RunNoise {
    let variance: Double
    let degreesOfFreedom: Double

    /// The smallest scatter assumed (0.1%): timers and identical samples show none.
    static let minimumScatter = 1e-3

    private init(variance: Double, degreesOfFreedom: Double) {
        self.variance = variance
        self.degreesOfFreedom = degreesOfFreedom
    }

    /// The same noise, `factor` times wider: a phase of the machine noisier than the runs showed.
    func widened(by factor: Double) -> RunNoise {
        RunNoise(variance: variance * factor * factor, degreesOfFreedom: degreesOfFreedom)
    }

    init(_ spreads: [RepetitionSpread]) {
        let several = spreads.filter { $0.runs >= 2 }
        let betweenFreedom = several.reduce(0) { $0 + $1.runs - 1 }
        if betweenFreedom > 0 {
            let squares = several.reduce(0.0) { total, spread in
                let floor = spread.floor
                return total + spread.runFloors.reduce(0) { $0 + ($1 - floor) * ($1 - floor) }
            }
            variance = max(RunNoise.minimumScatter * RunNoise.minimumScatter, squares / Double(betweenFreedom))
            degreesOfFreedom = Double(betweenFreedom)
        } else {
            // 1.4826 x the median absolute deviation estimates a standard deviation, robust to the
            // odd repetition a slow phase hit.
            let scatter = max(RunNoise.minimumScatter, 1.4826 * Statistics.median(spreads.flatMap(\.deviations)))
            variance = scatter * scatter
            degreesOfFreedom = Double(max(1, spreads.reduce(0) { $0 + $1.repetitions - $1.runs }))
        }
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
