/// Exit codes of the `nodebench` command, documented in the README.
public enum ExitStatus: Int32, Sendable {
    /// Every case ran and was verified (or was skipped for a stated reason).
    case ok = 0
    /// A case failed: wrong result, NaN, a kernel that did not build, a device error.
    case caseFailed = 1
    /// `check`: a case is slower than its baseline beyond the threshold; `fleet merge`: a node is flagged.
    case regression = 2
    /// `run`, `peak`: nothing was measured (every case skipped, or none selected).
    case nothingMeasured = 3
    /// Bad input: an unknown option, device, dtype or shape.
    case usage = 64
    /// A file could not be read or written.
    case ioError = 74
}

/// A command that could not do its job, with the exit status that says why and one line for the user.
public struct CommandFailure: Error, CustomStringConvertible {
    public let status: ExitStatus
    public let message: String

    public init(status: ExitStatus, message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }
}

extension RunDocument {
    /// How a measuring command ends: 1 when a case or a peak probe failed or timed out, 3 when
    /// nothing at all was measured, else 0; with the line that says why when it is not 0.
    public var outcome: (status: ExitStatus, message: String?) {
        let failures = results.filter(\.status.isFailure).count + peaks.filter { $0.status == .failed }.count
        if failures > 0 { return (.caseFailed, "\(failures) case(s) or probe(s) failed or timed out (see the reasons above)") }
        guard !results.contains(where: { $0.status == .ok }) && !peaks.contains(where: { $0.status == .ok }) else { return (.ok, nil) }
        let reasons = Dictionary(grouping: results.compactMap(\.reason) + peaks.compactMap(\.reason)) { $0 }
            .sorted { $0.value.count > $1.value.count }.prefix(3).map { "\($0.value.count)x \($0.key)" }
        let why = reasons.isEmpty ? "no case matched the options and devices" : reasons.joined(separator: "; ")
        return (.nothingMeasured, "nothing was measured: \(why)")
    }
}

extension RunComparison {
    /// How `check` ends: 1 when a case of the current run failed or could not be verified, 2 when
    /// a case is slower than the baseline, else 0; with the line that says why when it is not 0.
    public func gateOutcome(current: RunDocument) -> (status: ExitStatus, message: String?) {
        if current.results.contains(where: \.status.isFailure) {
            return (.caseFailed, "a case failed or could not be verified (see its reason above)")
        }
        guard regressions.isEmpty else {
            return (.regression, "\(regressions.count) case(s) slower than the baseline beyond \(Int((threshold * 100).rounded()))%: "
                + regressions.map(\.key.description).joined(separator: "; "))
        }
        return (.ok, nil)
    }
}

extension FleetDocument {
    /// How `fleet merge` ends: 2 when a node is flagged (corrupt, failed, missing or slow), so a
    /// Slurm epilog or a script can drain it, else 0; with the line that names them.
    public var outcome: (status: ExitStatus, message: String?) {
        guard !flagged.isEmpty else { return (.ok, nil) }
        let named = flagged.prefix(20).map { "\($0.name) \($0.verdict.rawValue)" }.joined(separator: ", ")
        return (.regression, "\(flagged.count) node(s) flagged: \(named)\(flagged.count > 20 ? ", ..." : "")")
    }
}
