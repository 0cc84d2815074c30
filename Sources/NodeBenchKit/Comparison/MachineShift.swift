import Foundation

/// What the machine itself did between the baseline and the current runs, read from the bulk of
/// the cases rather than from any one of them (Efron's "empirical null": with many tests at once,
/// the unchanged majority says where the null lies and how wide it is).
///
/// A shared VM has phases of minutes in which every kernel runs a few percent slower, floors
/// included, and the few runs of one check fall in one phase. Two things follow, and both are
/// measured here: every case moves alike (the shift), and the cases scatter more than the runs'
/// own noise says (the widening).
///
/// The shift is the one every implementation on every device shows: of the implementations' median
/// changes, the one closest to none when all point the same way, else none. A change to one
/// implementation, or to one device's driver, leaves the other implementations where they were and
/// is never absorbed; a change that slowed every case alike reads as the machine, and every report
/// says so.
struct MachineShift {
    /// One comparable case: its implementation on its device, its change of log time, and the
    /// standard error and degrees of freedom the runs' noise gives that change.
    struct Observation {
        var group: String
        var difference: Double
        var standardError: Double
        var degreesOfFreedom: Double
    }

    /// Log of the time ratio every implementation shares; 0 when they do not agree on a direction,
    /// or fewer than two were compared.
    let shift: Double
    /// How many times wider the cases scatter around the shift than their noise predicts, at least
    /// 1: a noisier phase of the machine than the runs themselves show.
    let widening: Double

    /// Fewer cases say too little about their own scatter, and a regression of half of them would
    /// read as scatter.
    static let casesForWidening = 8

    init(_ observations: [Observation]) {
        let groupChanges = Dictionary(grouping: observations, by: \.group).values.map { Statistics.median($0.map(\.difference)) }
        let sameDirection = groupChanges.allSatisfy { $0 > 0 } || groupChanges.allSatisfy { $0 < 0 }
        let shift = groupChanges.count >= 2 && sameDirection ? groupChanges.min { abs($0) < abs($1) }! : 0
        self.shift = shift
        // An unchanged case's |t| has the median t(0.75): the cases' median of |t| over it says how
        // much wider this comparison's null is than the noise model's.
        let scaled = observations.map { abs($0.difference - shift) / $0.standardError / StudentT.quantile(0.75, df: $0.degreesOfFreedom) }
        widening = scaled.count >= Self.casesForWidening ? max(1, Statistics.median(scaled)) : 1
    }
}
