/// The outcome of checking a result against the host fp64 reference.
public struct Verification: Codable, Sendable, Equatable {
    public var passed: Bool
    /// `full`: every element against the reference; `sampled`: every element of some rows and
    /// columns (always the first and last, where edge-tile bugs live), the rest only for NaN/Inf.
    public var method: String
    public var checkedElements: Int
    public var maxAbsError: Double
    /// Largest error relative to the largest reference magnitude (a normwise relative error).
    public var maxRelError: Double
    /// The tolerance at the element closest to failing, and how close it came (error / tolerance).
    public var tolerance: Double
    public var worstErrorToTolerance: Double
    public var nonFiniteElements: Int
    /// How the tolerance is derived.
    public var toleranceModel: String
}

/// Compares checked elements with their references one by one and keeps what a `Verification`
/// reports: the largest error, and the tolerance where the error came closest to it.
struct ErrorTally {
    private var maxAbsError = 0.0, maxReference = 0.0, worstRatio = -1.0, toleranceAtWorst = 0.0
    private var checked = 0

    mutating func add(_ value: Double, reference: Double, tolerance: Double) {
        let error = abs(value - reference)
        let ratio = error.isNaN ? .infinity : error / (tolerance + .leastNormalMagnitude)
        maxAbsError = max(maxAbsError, error.isNaN ? .infinity : error)
        maxReference = max(maxReference, abs(reference))
        checked += 1
        if ratio > worstRatio {
            worstRatio = ratio
            toleranceAtWorst = tolerance + .leastNormalMagnitude
        }
    }

    /// Passed when every checked element is within its tolerance and the whole output is finite.
    func verification(method: String, output: [Double], toleranceModel: String) -> Verification {
        let nonFinite = output.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        return Verification(
            passed: nonFinite == 0 && worstRatio <= 1, method: method, checkedElements: checked,
            maxAbsError: maxAbsError, maxRelError: maxReference > 0 ? maxAbsError / maxReference : maxAbsError,
            tolerance: toleranceAtWorst, worstErrorToTolerance: max(worstRatio, 0), nonFiniteElements: nonFinite,
            toleranceModel: toleranceModel)
    }
}
