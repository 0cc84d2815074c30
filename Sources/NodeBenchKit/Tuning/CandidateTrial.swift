import OpenCLKit

/// What a tuner reports after each candidate.
public struct TuningProgress<Parameters: Sendable>: Sendable {
    public var index: Int
    public var total: Int
    public var parameters: Parameters
    /// The case the candidate was timed on.
    public var timedOn: String
    /// GFLOP/s on the tuning case, or why the candidate was dropped.
    public var outcome: Result<Double, TuningCandidateError>
    public var best: Double?
}

public struct TuningCandidateError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// One candidate's trial: verified on a small odd case first, then the best of up to three timed
/// runs of the tuning case; a wrong or failing candidate is dropped with the reason.
private func tryCandidate(
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

/// How much faster than the best so far a later candidate must run to replace it. On a shared
/// machine the same candidate's best of three moved 2-3% between tuning runs (a Zen 3 VM: 112.5 and
/// 115.4 GFLOP/s); every space puts the device type's default first, so it stays unless clearly
/// beaten, and nodes of a kind tuned apart keep the same parameters.
let tuningMargin = 1.03

/// Tries `space` in order until `deadline` with `trial` (prepare the check case, verify, prepare the
/// timed case, with these parameters), reporting each; the fastest correct candidate (by
/// `tuningMargin`) and its GFLOP/s.
func fastestCandidate<Parameters: Sendable>(
    _ space: [Parameters], timedOn: String, deadline: Double, flops: Double, verify: ([Double]) -> Verification,
    check: (Parameters) throws -> PreparedKernel, timed: (Parameters) throws -> PreparedKernel,
    progress: (TuningProgress<Parameters>) -> Void
) -> (Parameters, Double)? {
    var best: (Parameters, Double)?
    for (index, parameters) in space.enumerated() where MonotonicClock.now() < deadline {
        let outcome = tryCandidate(
            check: { try check(parameters) }, verify: verify, timed: { try timed(parameters) }, flops: flops, deadline: deadline)
        if case .success(let gflops) = outcome, gflops > (best?.1 ?? 0) * tuningMargin { best = (parameters, gflops) }
        progress(TuningProgress(index: index + 1, total: space.count, parameters: parameters, timedOn: timedOn, outcome: outcome, best: best?.1))
    }
    return best
}

extension NodeInventory {
    /// The OpenCL device a tuner works on; the host and unknown ids are refused, naming the OpenCL devices.
    func tunableDevice(_ device: DeviceDescriptor) throws(UsageError) -> OpenCLDeviceRuntime {
        do {
            return try openCL(device)
        } catch {
            throw UsageError("tuning applies to OpenCL devices; \(error.description)")
        }
    }
}
