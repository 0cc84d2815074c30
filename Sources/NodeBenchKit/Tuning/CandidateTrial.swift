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
/// runs of the tuning case; a wrong or failing candidate is dropped with the reason. A passing one
/// keeps its prepared tuning case, to be timed again.
private func tryCandidate(
    check: () throws -> PreparedKernel, verify: ([Double]) -> Verification, timed: () throws -> PreparedKernel, flops: Double,
    deadline: Double
) -> Result<(gflops: Double, prepared: PreparedKernel), TuningCandidateError> {
    do {
        let small = try check()
        _ = try small.execute()
        let verification = verify(try small.result())
        guard verification.passed else {
            return .failure(TuningCandidateError(description: "wrong result (error \(verification.maxAbsError), tolerance \(verification.tolerance))"))
        }
        let prepared = try timed()
        return .success((try bestOfThree(prepared, flops: flops, deadline: deadline), prepared))
    } catch {
        return .failure(TuningCandidateError(description: Runner.describe(error)))
    }
}

/// GFLOP/s of the fastest of up to three executions (fewer past `deadline`).
private func bestOfThree(_ prepared: PreparedKernel, flops: Double, deadline: Double) throws -> Double {
    var fastest = Double.infinity
    for _ in 0..<3 {
        fastest = min(fastest, try prepared.execute().kernelSeconds)
        if MonotonicClock.now() > deadline { break }
    }
    return flops / fastest / 1e9
}

/// How much faster than the first candidate (every space's first is the device type's default) or
/// the best so far another must run to replace it. On a shared machine the same candidate's best of
/// three moved 2-3% between tuning runs (a Zen 3 VM: 112.5 and 115.4 GFLOP/s); nodes of a kind tuned
/// apart should keep the same parameters.
let tuningMargin = 1.03

/// Tries `space` in order until `deadline` (prepare the check case, verify, prepare the timed case,
/// with these parameters), reporting each; the fastest correct candidate (by `tuningMargin`) and its
/// GFLOP/s. A winner other than the first is timed again in alternation with the first, and keeps
/// its place only if it still wins by the margin: a search is long enough for a shared machine's
/// speed to drift, and the first, timed at its start, would lose to that drift (a Zen 3 VM timed
/// the same default at 113.0 and 80.5 GFLOP/s in two runs).
func fastestCandidate<Parameters: Sendable>(
    _ space: [Parameters], timedOn: String, deadline: Double, flops: Double, verify: ([Double]) -> Verification,
    check: (Parameters) throws -> PreparedKernel, timed: (Parameters) throws -> PreparedKernel,
    progress: (TuningProgress<Parameters>) -> Void
) -> (Parameters, Double)? {
    var first: (parameters: Parameters, prepared: PreparedKernel)?
    var best: (parameters: Parameters, gflops: Double, prepared: PreparedKernel, isFirst: Bool)?
    for (index, parameters) in space.enumerated() where MonotonicClock.now() < deadline {
        let outcome = tryCandidate(
            check: { try check(parameters) }, verify: verify, timed: { try timed(parameters) }, flops: flops, deadline: deadline)
        if case .success(let trial) = outcome {
            if index == 0 { first = (parameters, trial.prepared) }
            if trial.gflops > (best?.gflops ?? 0) * tuningMargin { best = (parameters, trial.gflops, trial.prepared, index == 0) }
        }
        progress(TuningProgress(
            index: index + 1, total: space.count, parameters: parameters, timedOn: timedOn, outcome: outcome.map(\.gflops), best: best?.gflops))
    }
    guard let winner = best else { return nil }
    guard !winner.isFirst, let first else { return (winner.parameters, winner.gflops) }
    // One execution of each in turn, so both see the machine as it is now; up to three rounds, at
    // least one past the deadline.
    var again: (first: Double, winner: Double) = (0, 0)
    do {
        for _ in 0..<3 {
            again.first = max(again.first, flops / (try first.prepared.execute().kernelSeconds) / 1e9)
            again.winner = max(again.winner, flops / (try winner.prepared.execute().kernelSeconds) / 1e9)
            if MonotonicClock.now() > deadline { break }
        }
    } catch {
        return (winner.parameters, winner.gflops)
    }
    let kept = again.winner > again.first * tuningMargin ? (winner.parameters, again.winner) : (first.parameters, again.first)
    progress(TuningProgress(
        index: space.count, total: space.count, parameters: kept.0,
        timedOn: timedOn + String(format: ", timed again in turn: fastest %.1f, first %.1f", again.winner, again.first),
        outcome: .success(kept.1), best: kept.1))
    return kept
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
