import Foundation

/// What one node's file and its devices' verdicts say against it, gathered by severity; the
/// verdict is the most severe kind found.
struct NodeEvidence {
    private var corrupt: [String] = []
    private var failed: [String] = []
    private var slow: [String] = []
    /// Said of a node with several devices of one model whose speeds differ, or screened again; not
    /// a verdict alone.
    private var notes: [String] = []

    var verdict: FleetNode.Verdict {
        !corrupt.isEmpty ? .corrupt : !failed.isEmpty ? .failed : !slow.isEmpty ? .slow : .healthy
    }

    var lines: [String] { corrupt + failed + slow + notes }

    /// What the file itself says: unreadable, unfinished, another suite, failed cases and probes.
    mutating func read(_ document: Result<RunDocument, RunDocument.LoadError>, suite: String, seed: UInt64) {
        let run: RunDocument
        switch document {
        case .failure(let error):
            failed.append("unreadable: \(error.description)")
            return
        case .success(let loaded): run = loaded
        }
        if run.suite != suite || run.seed != seed {
            failed.append("ran suite \(run.suite) with seed \(run.seed); the fleet ran \(suite) with seed \(seed): not comparable")
        }
        if !run.complete { failed.append("the run did not finish (its file says complete: false)") }
        for result in run.results where result.status.isFailure {
            let line = "\(CaseKey(result)): \(result.status.rawValue): \(result.reason ?? "no reason given")"
            if Self.isWrongResult(result) { corrupt.append(line) } else { failed.append(line) }
        }
        for peak in run.peaks where peak.status == .failed {
            failed.append("peak \(peak.device) \(peak.probe.rawValue) \(peak.variant): failed: \(peak.reason ?? "no reason given")")
        }
        for burnIn in run.burnIn ?? [] {
            if burnIn.status.isFailure { failed.append(burnIn.summary) }
            if burnIn.outputChanges > 0 { corrupt.append(burnIn.summary) } else if burnIn.throttling { slow.append(burnIn.summary) }
        }
        if case (let status, let message?) = run.outcome, status == .nothingMeasured { failed.append(message) }
    }

    /// Said of a node screened again: its verdict rests on more than one run.
    mutating func screened(_ files: [String]) {
        notes.append("screened \(files.count) times (\(files.joined(separator: ", "))): judged on each case's fastest repetition over its screens")
    }

    /// A result the device computed wrongly (against fp64, or against itself), rather than one it
    /// could not compute.
    static func isWrongResult(_ result: CaseResult) -> Bool {
        result.verification?.passed == false || (result.reason?.hasSuffix("does not compute reproducibly") ?? false)
    }

    /// The devices' verdicts: checksums that disagree, slow devices, and devices of one model that
    /// differ within the node by more than the threshold (one slow GPU among eight).
    mutating func add(_ devices: [FleetDevice], threshold: Double) {
        for device in devices {
            corrupt += device.checksumMismatches.map { "\(device.id) (\(device.model)): \($0)" }
            guard device.slow, let ratio = device.ratio else { continue }
            let cases = device.slowCases.prefix(3).map { "\($0.name) \(Self.times($0.ratio)) (p \(Self.probability($0.p)))" }
            slow.append(
                "\(device.id) (\(device.model)) runs \(Self.times(ratio)) the fleet median over its cases (p \(Self.probability(device.p ?? 1)))"
                    + (cases.isEmpty ? "" : "; slowest: " + cases.joined(separator: "; ")))
        }
        for (model, peers) in Dictionary(grouping: devices.filter { $0.ratio != nil }, by: \.model) where peers.count >= 2 {
            let ordered = peers.sorted { $0.ratio! < $1.ratio! }
            let fastest = ordered.first!, slowest = ordered.last!
            if slowest.ratio! / fastest.ratio! >= 1 + threshold {
                notes.append(
                    "within the node, \(slowest.id) runs \(Self.times(slowest.ratio! / fastest.ratio!)) as long as \(fastest.id) (\(model), "
                        + "\(peers.count) devices)")
            }
        }
    }

    static func times(_ ratio: Double) -> String { String(format: "%.2fx", ratio) }

    static func probability(_ p: Double) -> String { p < 1e-4 ? String(format: "%.0e", p) : String(format: "%.4f", p) }
}
