/// What a tuner reports after each candidate.
public struct TuningProgress<Parameters: Sendable>: Sendable {
    public var index: Int
    public var total: Int
    public var parameters: Parameters
    /// GFLOP/s on the tuning case, or why the candidate was dropped.
    public var outcome: Result<Double, TuningCandidateError>
    public var best: Double?
}

public struct TuningCandidateError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// One candidate's trial: verified on a small odd case first, then the best of up to three timed
/// runs of the tuning case; a wrong or failing candidate is dropped with the reason.
func tryCandidate(
    check: () throws -> PreparedKernel, verify: ([Double]) -> Verification, timed: () throws -> PreparedKernel, flops: Double,
    deadline: Double
) -> Result<Double, TuningCandidateError> {
    do {
        let small = try check()
        _ = try small.execute()
        let verification = verify(try small.result())
        guard verification.passed else {
            return .failure(TuningCandidateError(description: "wrong result (error \(verification.maxAbsError), tolerance \(verification.tolerance))"))
        }
        let prepared = try timed()
        var fastest = Double.infinity
        for _ in 0..<3 {
            fastest = min(fastest, try prepared.execute().kernelSeconds)
            if MonotonicClock.now() > deadline { break }
        }
        return .success(flops / fastest / 1e9)
    } catch {
        return .failure(TuningCandidateError(description: Runner.describe(error)))
    }
}
