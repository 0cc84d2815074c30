import Foundation

/// Two runs read against each other: cases matched by what they measured, a verdict per case from
/// the floors of their runs (`RepetitionSpread`), unmatched cases listed, and the differences
/// between the environments.
///
/// Each case's time ratio (current over baseline, from the mean floors of their runs) is judged
/// against the machine's own move (`MachineShift`) and how much a run's floor varies (`RunNoise`):
/// a t-test on the log ratio gives a p-value, Holm's adjustment makes the p-values hold for all
/// cases at once, and the 95% interval of the ratio says how sure the ratio is. Slower or faster
/// also needs the current floor beyond every run the baseline holds: a guard against the odd run a
/// normal model does not expect.
public struct RunComparison: Sendable {
    public enum Verdict: String, Codable, Sendable {
        /// Slower by more than the threshold, beyond what the noise explains: a regression.
        case slower
        case faster
        /// The ratio's interval lies inside the threshold: any change is smaller than it.
        case same
        /// Neither: the interval reaches past the threshold but the change is not significant; the
        /// case's detectable change says what this baseline can resolve.
        case ambiguous
        /// No timings to compare: the case failed or was skipped in either run.
        case notComparable = "not comparable"
    }

    public struct Case: Sendable {
        public var key: CaseKey
        public var baseline: CaseResult
        public var current: CaseResult
        /// Each side's time when nothing slowed it: the geometric mean of its runs' floors, seconds.
        public var baselineFloor: Double?
        public var currentFloor: Double?
        /// Current time over the baseline's, from the floors: above 1 is slower.
        public var timeRatio: Double?
        /// 95% confidence interval of the time ratio.
        public var ratioLow: Double?
        public var ratioHigh: Double?
        /// Two-sided p-value of "no change", Holm-adjusted over every comparable case.
        public var pValue: Double?
        /// The smallest slowdown this baseline catches 19 times in 20 in a current measurement of as
        /// many runs as this one (0.1 is 10%).
        public var detectableChange: Double?
        public var verdict: Verdict
    }

    public let baselineName: String
    public let currentName: String
    public let threshold: Double
    public let cases: [Case]
    /// Keys measured in only one of the runs.
    public let onlyInBaseline: [CaseKey]
    public let onlyInCurrent: [CaseKey]
    /// Environment differences that can explain a change (driver, BLAS core, tool version...).
    public let environmentChanges: [String]
    /// How many runs the baseline holds: with one, the noise between runs is unknown.
    public let baselineRuns: Int
    /// The time ratio every implementation on every device moved by alike (1 when they did not
    /// agree): the machine's load, clocks or neighbours, or one change that reached every case.
    /// Cases are judged against it (`MachineShift`).
    public let machineRatio: Double
    /// How many times wider the cases scattered than their runs' noise predicts (at least 1); the
    /// intervals, p-values and detectable changes are widened by it.
    public let noiseWidening: Double

    /// The smallest change of a case's time that counts, unless told otherwise.
    public static let defaultThreshold = 0.05
    /// Runs `check` makes by default: about 2 minutes of the quick suite on a 2-core machine.
    public static let defaultCheckRuns = 4

    /// The family-wise error rate: the chance that any case of an unchanged run is called slower or
    /// faster, under the noise model. Timings have heavier tails than it assumes, so it is strict.
    public static let alpha = 0.01
    /// The detectable change is the slowdown caught with this probability.
    public static let power = 0.95

    public init(baseline: RunDocument, named baselineName: String, current: RunDocument, named currentName: String, threshold: Double) {
        self.baselineName = baselineName
        self.currentName = currentName
        self.threshold = threshold
        let baselineByKey = Dictionary(baseline.results.map { (CaseKey($0), $0) }, uniquingKeysWith: { first, _ in first })
        let currentByKey = Dictionary(current.results.map { (CaseKey($0), $0) }, uniquingKeysWith: { first, _ in first })
        let currentKeys = current.results.map(CaseKey.init)
        let pairs = currentKeys.compactMap { key in baselineByKey[key].map { (key, $0, currentByKey[key]!) } }
        let (cases, machine) = RunComparison.judge(pairs, threshold: threshold)
        self.cases = cases
        machineRatio = exp(machine.shift)
        noiseWidening = machine.widening
        onlyInBaseline = baseline.results.map(CaseKey.init).filter { currentByKey[$0] == nil }
        onlyInCurrent = currentKeys.filter { baselineByKey[$0] == nil }
        environmentChanges = EnvironmentFingerprint(baseline).changes(to: EnvironmentFingerprint(current))
        baselineRuns = baseline.results.compactMap { RepetitionSpread($0.stats)?.runs }.max() ?? 0
    }

    public var regressions: [Case] { cases.filter { $0.verdict == .slower } }

    /// What a baseline protects: for each of its cases, the smallest slowdown that `check` with a
    /// measurement of `currentRuns` runs catches 19 times in 20 (nil for a case without timings).
    public static func detectableChanges(of baseline: RunDocument, currentRuns: Int, threshold: Double) -> [(key: CaseKey, change: Double?)] {
        let spreads = baseline.results.map { $0.status == .ok ? RepetitionSpread($0.stats) : nil }
        let cases = spreads.compactMap { $0 }.count
        return zip(baseline.results, spreads).map { result, spread in
            (CaseKey(result), spread.map { detectableChange(in: $0, currentRuns: currentRuns, cases: cases, threshold: threshold) })
        }
    }

    /// The detectable change of one baseline case, from the baseline's noise alone, widened as a
    /// comparison's scatter asks.
    private static func detectableChange(
        in baseline: RepetitionSpread, currentRuns: Int, cases: Int, threshold: Double, widening: Double = 1
    ) -> Double {
        RunNoise([baseline]).widened(by: widening).detectableChange(
            baselineRuns: baseline.runs, currentRuns: currentRuns, cases: cases, threshold: threshold, alpha: alpha, power: power)
    }

    private static func judge(_ pairs: [(CaseKey, CaseResult, CaseResult)], threshold: Double) -> (cases: [Case], machine: MachineShift) {
        struct Measured {
            var old, new: RepetitionSpread
            var noise: RunNoise
            /// Change of the log floor, and its standard error under the runs' noise.
            var difference, standardError: Double
        }
        let measured = pairs.map { _, baseline, current -> Measured? in
            guard baseline.status == .ok, current.status == .ok, let old = RepetitionSpread(baseline.stats),
                let new = RepetitionSpread(current.stats)
            else { return nil }
            let noise = RunNoise([old, new])
            let standardError = (noise.variance * (1 / Double(old.runs) + 1 / Double(new.runs))).squareRoot()
            return Measured(old: old, new: new, noise: noise, difference: new.floor - old.floor, standardError: standardError)
        }
        let machine = MachineShift(zip(pairs, measured).compactMap { pair, measured in
            measured.map {
                MachineShift.Observation(
                    group: "\(pair.0.device) \(pair.0.implementation)", difference: $0.difference, standardError: $0.standardError,
                    degreesOfFreedom: $0.noise.degreesOfFreedom)
            }
        })
        let comparable = measured.compactMap { $0 }.count
        // Each case is judged against the machine: its change beyond the shift every implementation
        // shares, under its noise widened to this comparison's scatter.
        let tests = measured.map { measured -> (p: Double, halfWidth: Double)? in
            guard let measured else { return nil }
            let standardError = measured.standardError * machine.widening
            let t = (measured.difference - machine.shift) / standardError
            let df = measured.noise.degreesOfFreedom
            return (2 * (1 - StudentT.cdf(abs(t), df: df)), StudentT.quantile(0.975, df: df) * standardError)
        }
        var adjusted = Holm.adjusted(tests.compactMap { $0?.p }).makeIterator()
        let cases = zip(pairs, zip(measured, tests)).map { pair, judged in
            let (key, baseline, current) = pair
            guard let measured = judged.0, let test = judged.1, let p = adjusted.next() else {
                return Case(key: key, baseline: baseline, current: current, verdict: .notComparable)
            }
            let (old, new) = (measured.old, measured.new)
            let change = measured.difference - machine.shift
            let band = log(1 + threshold)
            // A guard against the odd run a normal model does not expect: the current floor, less
            // the machine's shift, lies beyond every run the baseline holds, in the direction it moved.
            let beyondBaselineRuns = change > 0 ? new.floor - machine.shift > old.runFloors.max()! : new.floor - machine.shift < old.runFloors.min()!
            let significant = p < alpha && beyondBaselineRuns
            let verdict: Verdict
            if significant && change > band {
                verdict = .slower
            } else if significant && change < -band {
                verdict = .faster
            } else if abs(change) + test.halfWidth <= band {
                verdict = .same
            } else {
                verdict = .ambiguous
            }
            let detectable = detectableChange(in: old, currentRuns: new.runs, cases: comparable, threshold: threshold, widening: machine.widening)
            return Case(
                key: key, baseline: baseline, current: current, baselineFloor: exp(old.floor), currentFloor: exp(new.floor),
                timeRatio: exp(measured.difference), ratioLow: exp(measured.difference - test.halfWidth),
                ratioHigh: exp(measured.difference + test.halfWidth), pValue: p, detectableChange: detectable, verdict: verdict)
        }
        return (cases, machine)
    }
}

/// What makes two results the same case: kernel, implementation (and its variant), device, type,
/// and the kernel's dimensions.
public struct CaseKey: Hashable, Sendable, CustomStringConvertible {
    public var device: String
    public var implementation: String
    public var variant: String?
    public var caseDescription: String

    public init(_ result: CaseResult) {
        device = result.device
        implementation = result.implementation
        variant = result.variant
        caseDescription = result.caseDescription
    }

    public var description: String {
        "\(device) \(implementation)\(variant.map { "[\($0)]" } ?? "") \(caseDescription)"
    }
    /// Whether a `--debug-*` selector names this case: `all` (a whole node's cases), its
    /// implementation, or the case itself as comparisons print it.
    public func isSelected(by selector: String) -> Bool {
        selector == "all" || selector == implementation || selector == description
    }
}

/// What a result file says about the environment that can change timings: the tool, each
/// device's name and driver, the BLAS's core and threads, and the repetitions of a run (the
/// fastest of more repetitions is faster).
public struct EnvironmentFingerprint: Equatable, Sendable {
    public var entries: [String: String]

    public init(_ document: RunDocument) {
        var entries = [
            "tool version": document.tool.version, "build": document.tool.buildConfiguration,
            "BLAS core": document.node.blas.coreName, "BLAS threads": String(document.node.blas.threads),
            "repetitions per run": String(document.sampling.repetitions),
        ]
        for device in document.node.devices {
            entries["\(device.id) device"] = device.name
            entries["\(device.id) driver"] = device.driver ?? "-"
        }
        self.entries = entries
    }

    /// "opencl:0:0 driver: 3.1 -> 4.0", one per entry that differs.
    public func changes(to other: EnvironmentFingerprint) -> [String] {
        Set(entries.keys).union(other.entries.keys).sorted().compactMap { key in
            let (old, new) = (entries[key] ?? "absent", other.entries[key] ?? "absent")
            return old == new ? nil : "\(key): \(old) -> \(new)"
        }
    }
}
