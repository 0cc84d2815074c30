import Foundation

/// Machine-wide disturbances told apart from the cases' own variation. Every round of timing
/// measures every case once, in a shuffled order, within seconds; when most cases of a round ran
/// slower together than in the machine's quiet rounds, something outside them slowed the
/// machine (a neighbour's burst, a clock dip) and the round is disturbed. A change in one kernel
/// moves only its own case, and a slower machine or library moves every round alike: neither
/// marks a round.
enum Disturbance {
    /// The fewest cases a round must hold for their agreement to mean anything.
    static let minimumCases = 8
    /// How much slower than the quietest rounds a round may run, all cases together.
    static let tolerance = 0.03

    /// For `medians[case][round]` (seconds, every case measured in every round), whether each
    /// round was disturbed; none is when there are too few cases to tell.
    static func disturbedRounds(_ medians: [[Double]]) -> [Bool] {
        let rounds = medians.first?.count ?? 0
        guard medians.count >= minimumCases, rounds >= 2, medians.allSatisfy({ $0.count == rounds && $0.allSatisfy { $0 > 0 } }) else {
            return [Bool](repeating: false, count: rounds)
        }
        // Each case against its own quick rounds (its lower quartile), so a case's usual speed
        // does not count; each round by the median case, so one case's own change does not count.
        let logs = medians.map { $0.map(log) }
        let quickLevels = logs.map { Statistics.quantile($0.sorted(), 0.25) }
        let roundFactors = (0..<rounds).map { round in Statistics.median(zip(logs, quickLevels).map { $0[round] - $1 }) }
        // The machine's quiet level: its quicker rounds, not the quickest, which may be a fluke.
        let quiet = Statistics.quantile(roundFactors.sorted(), 0.25)
        return roundFactors.map { $0 - quiet > log(1 + tolerance) }
    }
}
