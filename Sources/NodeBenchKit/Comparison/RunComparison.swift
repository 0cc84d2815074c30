import Foundation

/// Two runs read against each other: cases matched by what they measured, a verdict per case from
/// the raw samples, unmatched cases listed, and the differences between the environments.
public struct RunComparison: Sendable {
    public enum Verdict: String, Codable, Sendable {
        /// Significantly slower, by more than the threshold: a regression.
        case slower
        case faster
        /// The medians differ by no more than the case's allowed band.
        case same
        /// A difference beyond the threshold that the samples cannot tell from noise.
        case inconclusive
        /// No timings to compare: the case failed or was skipped in either run.
        case notComparable = "not comparable"
    }

    public struct Case: Sendable {
        public var key: CaseKey
        public var baseline: CaseResult
        public var current: CaseResult
        /// Current median time over the baseline's: above 1 is slower.
        public var timeRatio: Double?
        /// One-sided Mann-Whitney U p-value in the direction the medians moved.
        public var pValue: Double?
        /// The change of the median that counts for this case: the threshold, or twice the larger
        /// coefficient of variation of the two runs when that is wider.
        public var allowedChange: Double?
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

    /// A change smaller than this is noise however significant; larger, it needs p below `alpha`.
    public static let alpha = 0.05

    public init(baseline: RunDocument, named baselineName: String, current: RunDocument, named currentName: String, threshold: Double) {
        self.baselineName = baselineName
        self.currentName = currentName
        self.threshold = threshold
        let baselineByKey = Dictionary(baseline.results.map { (CaseKey($0), $0) }, uniquingKeysWith: { first, _ in first })
        let currentByKey = Dictionary(current.results.map { (CaseKey($0), $0) }, uniquingKeysWith: { first, _ in first })
        let currentKeys = current.results.map(CaseKey.init)
        cases = currentKeys.compactMap { key in
            guard let old = baselineByKey[key], let new = currentByKey[key] else { return nil }
            return RunComparison.compare(key, old, new, threshold: threshold)
        }
        onlyInBaseline = baseline.results.map(CaseKey.init).filter { currentByKey[$0] == nil }
        onlyInCurrent = currentKeys.filter { baselineByKey[$0] == nil }
        environmentChanges = EnvironmentFingerprint(baseline).changes(to: EnvironmentFingerprint(current))
    }

    public var regressions: [Case] { cases.filter { $0.verdict == .slower } }

    private static func compare(_ key: CaseKey, _ baseline: CaseResult, _ current: CaseResult, threshold: Double) -> Case {
        guard baseline.status == .ok, current.status == .ok, let old = baseline.stats?.kernel, let new = current.stats?.kernel,
            old.median > 0
        else {
            return Case(key: key, baseline: baseline, current: current, verdict: .notComparable)
        }
        let ratio = new.median / old.median
        let slower = ratio > 1
        // One-sided: are the current samples larger (slower) or smaller (faster) than the baseline's?
        let p = MannWhitney.pValue(slower ? new.samples : old.samples, greaterThan: slower ? old.samples : new.samples)
        // Timings that scatter within a run scatter between runs at least as much.
        let allowed = max(threshold, 2 * max(old.cv, new.cv))
        let verdict: Verdict
        if abs(ratio - 1) <= allowed {
            verdict = .same
        } else if p < alpha {
            verdict = slower ? .slower : .faster
        } else {
            verdict = .inconclusive
        }
        return Case(key: key, baseline: baseline, current: current, timeRatio: ratio, pValue: p, allowedChange: allowed, verdict: verdict)
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
}

/// The Mann-Whitney U test with the normal approximation (ties corrected, continuity corrected),
/// which needs no assumption about how timings are distributed.
enum MannWhitney {
    /// P(values in `a` tend to be larger than those in `b`) being this extreme by chance.
    static func pValue(_ a: [Double], greaterThan b: [Double]) -> Double {
        let (n, m) = (Double(a.count), Double(b.count))
        guard n > 0, m > 0 else { return 1 }
        let pooled = (a.map { ($0, true) } + b.map { ($0, false) }).sorted { $0.0 < $1.0 }
        var ranks = [Double](repeating: 0, count: pooled.count)
        var tieTerm = 0.0
        var start = 0
        while start < pooled.count {
            var end = start
            while end + 1 < pooled.count && pooled[end + 1].0 == pooled[start].0 { end += 1 }
            let rank = Double(start + end) / 2 + 1
            for index in start...end { ranks[index] = rank }
            let tied = Double(end - start + 1)
            tieTerm += tied * tied * tied - tied
            start = end + 1
        }
        let rankSumA = zip(pooled, ranks).filter { $0.0.1 }.reduce(0) { $0 + $1.1 }
        let u = rankSumA - n * (n + 1) / 2
        let mean = n * m / 2
        let total = n + m
        let variance = n * m / 12 * ((total + 1) - tieTerm / (total * (total - 1)))
        guard variance > 0 else { return 1 }
        let z = (u - mean - 0.5) / variance.squareRoot()
        return 0.5 * erfc(z / 2.0.squareRoot())
    }
}

/// What a result file says about the environment that can change timings: the tool, each
/// device's name and driver, and the BLAS's core and threads.
public struct EnvironmentFingerprint: Equatable, Sendable {
    public var entries: [String: String]

    public init(_ document: RunDocument) {
        var entries = [
            "tool version": document.tool.version, "build": document.tool.buildConfiguration,
            "BLAS core": document.node.blas.coreName, "BLAS threads": String(document.node.blas.threads),
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
