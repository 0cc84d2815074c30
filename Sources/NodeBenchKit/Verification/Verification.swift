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
