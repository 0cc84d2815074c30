import Foundation

/// The table `nodebench run` prints: one row per case and device, cases of the same shape
/// together so devices read side by side, with the largest difference of each output from the
/// first device's ("max diff").
public enum RunReport {
    public static func table(_ results: [CaseResult]) -> String {
        var table = TextTable([
            ("device", .left), ("impl", .left), ("kernel", .left), ("dtype", .left), ("layout", .left),
            ("shape", .left), ("GFLOP/s", .right), ("% peak", .right), ("median ms", .right), ("CV %", .right),
            ("max diff", .right), ("verify", .left),
            ("status", .left),
        ])
        for result in results {
            table.add([
                result.device, result.implementation + (result.variant.map { "[\($0)]" } ?? ""),
                kernelCell(result), result.dtype.rawValue, result.layout?.rawValue ?? "-", shapeCell(result),
                result.gflops.map { String(format: "%.1f", $0) } ?? "-",
                percentCell(result.efficiency),
                result.stats.map { String(format: "%.3f", $0.kernel.median * 1e3) } ?? "-",
                result.stats.map { String(format: "%.1f", $0.kernel.cv * 100) } ?? "-",
                result.crossCheck.map { String(format: "%.1e", $0.maxAbsDifference) } ?? "-",
                verificationCell(result.verification),
                result.status == .ok ? "ok" : "\(result.status.rawValue): \(result.reason ?? "")",
            ])
        }
        return table.render()
    }

    /// Where the time of each case with parts went (attention's products, softmax, packing, sweeps),
    /// one line per case after the table; empty when no case has stages.
    public static func stages(_ results: [CaseResult]) -> String {
        let lines = results.compactMap { result -> String? in
            guard let stages = result.stages, !stages.isEmpty else { return nil }
            let parts = stages.map { stage in
                String(format: "%@ %.3f ms", stage.name, stage.medianSeconds * 1e3) + (stage.gflops.map { String(format: " (%.1f GFLOP/s)", $0) } ?? "")
            }
            return "  \(result.device) \(result.implementation) \(kernelCell(result)) \(result.dtype.rawValue) \(shapeCell(result)): "
                + parts.joined(separator: ", ") + "\n"
        }
        return lines.isEmpty ? "" : "Stages (median device time per execution):\n" + lines.joined()
    }

    /// "gemm", "attention bwd", "rmsnorm bwd".
    static func kernelCell(_ result: CaseResult) -> String {
        (result.layerOp?.op.rawValue ?? result.kernel.rawValue)
            + (result.attentionPass == .backward || result.layerOp?.pass == .backward ? " bwd" : "")
    }

    /// "2048x2048x2048", "b1 h8 s2048 d64", "2048x768".
    static func shapeCell(_ result: CaseResult) -> String {
        result.shape?.description ?? result.attention?.description ?? result.layerOp.map(layerShape) ?? "-"
    }

    /// "2048x768", "2048x1536 d128".
    static func layerShape(_ layerOp: LayerOpCase) -> String {
        "\(layerOp.rows)x\(layerOp.width)" + (layerOp.headDim.map { " d\($0)" } ?? "")
    }

    /// "62%", with "!" when above the measured peak (a measurement error); a layer op's share of
    /// the memory copy timed beside it (else of the copy probe) as "71% bw".
    static func percentCell(_ efficiency: Efficiency?) -> String {
        if let bandwidth = efficiency?.percentOfAdjacentCopy ?? efficiency?.percentOfCopyBandwidth {
            return String(format: "%.0f%% bw", bandwidth)
        }
        guard let percent = efficiency?.percentOfPeak else { return "-" }
        return String(format: "%.0f%%", percent) + (efficiency?.measurementError == true ? "!" : "")
    }

    /// Findings as a person reads them, after the table.
    public static func findings(_ findings: [Finding]) -> String {
        guard !findings.isEmpty else { return "Findings: none\n" }
        var text = "Findings:\n"
        for finding in findings {
            text += "  \(finding.severity) [\(finding.device ?? "node")] \(finding.summary)\n"
            text += "    evidence: \(finding.evidence)\n    action: \(finding.action)\n"
        }
        return text
    }

    /// "passed (full)", "FAILED 3.2e-01 > 1.1e-05", or "-" when nothing was checked. A method's
    /// detail after a colon (which rows were sampled) is left to the result file.
    static func verificationCell(_ verification: Verification?) -> String {
        guard let verification else { return "-" }
        if verification.passed { return "passed (\(verification.method.prefix { $0 != ":" }))" }
        return String(format: "FAILED %.1e > %.1e", verification.maxAbsError, verification.tolerance)
    }

    /// "12 ok, 1 failed, 2 skipped", with timed-out cases and failed peak probes when there are any.
    public static func summary(_ document: RunDocument) -> String {
        let counts = Dictionary(grouping: document.results, by: \.status).mapValues(\.count)
        var parts = [CaseResult.Status.ok, .failed, .skipped].map { "\(counts[$0] ?? 0) \($0.rawValue)" }
        if let timedOut = counts[.timedOut] { parts.append("\(timedOut) timed out") }
        let peaksFailed = document.peaks.filter { $0.status == .failed }.count
        if peaksFailed > 0 { parts.append("\(peaksFailed) peak probe(s) failed") }
        return parts.joined(separator: ", ")
    }
}
