import Foundation

/// One self-contained HTML page about a run (inline CSS and SVG, nothing fetched): the node,
/// findings, peaks, a roofline per device, GEMM and attention sweeps, every case's devices side by
/// side, and the comparison with a baseline when one is given.
public enum HTMLReport {
    public static func render(_ run: RunDocument, comparison: RunComparison? = nil) -> String {
        var html = """
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>NodeBench: \(xmlEscaped(run.node.host.hostname))</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}table{border-collapse:collapse;margin:8px 0 16px}
            td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}td.n{text-align:right}th{background:#f0f0f0}
            .slower{color:#b00;font-weight:bold}.faster{color:#070}.warning{color:#b60}.charts{display:flex;flex-wrap:wrap;gap:12px}
            h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:28px}</style></head><body>
            """
        html += "<h1>NodeBench: \(xmlEscaped(run.node.host.hostname))</h1>"
        html += "<p>\(xmlEscaped(run.node.summary)). Suite <b>\(xmlEscaped(run.suite))</b>, started \(run.startedAt)"
        html += run.complete ? "" : " — <span class=\"warning\">incomplete run</span>"
        html += "; nodebench \(run.tool.version) (\(run.tool.gitCommit ?? "unknown commit"), \(run.tool.buildConfiguration) build).</p>"
        html += node(run) + findings(run) + peaks(run) + rooflines(run) + sweeps(run) + sideBySide(run)
        if let comparison { html += self.comparison(comparison) }
        return html + "</body></html>\n"
    }

    /// Cells are HTML already: escape text before.
    static func table(_ headers: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
        var html = "<table><tr>" + headers.map { "<th>\(xmlEscaped($0))</th>" }.joined() + "</tr>"
        for row in rows {
            html += "<tr>" + row.enumerated().map { index, cell in
                "<td\(numeric.contains(index) ? " class=\"n\"" : "")>\(cell)</td>"
            }.joined() + "</tr>"
        }
        return html + "</table>"
    }

    private static func node(_ run: RunDocument) -> String {
        let node = run.node
        var html = "<h2>Node</h2><p>\(xmlEscaped(node.cpu.modelName)), \(node.host.logicalCPUs) logical CPUs, "
        html += "\(xmlEscaped(formatBytes(Double(node.host.physicalMemoryBytes)))) memory; \(xmlEscaped(node.host.operatingSystem)); "
        html += "BLAS \(xmlEscaped(node.blas.library)) \(xmlEscaped(node.blas.version ?? "")) core \(xmlEscaped(node.blas.coreName)), "
        html += "\(node.blas.threads) threads.</p>"
        html += table(
            ["device", "type", "name", "driver"],
            node.devices.map { [$0.id, $0.type.rawValue, $0.name, $0.driver ?? "-"].map(xmlEscaped) })
        return html
    }

    private static func findings(_ run: RunDocument) -> String {
        guard !run.findings.isEmpty else { return "<h2>Findings</h2><p>None.</p>" }
        return "<h2>Findings</h2><ul>" + run.findings.map { finding in
            "<li><span class=\"warning\">\(xmlEscaped(finding.severity))</span> [\(xmlEscaped(finding.device ?? "node"))] "
                + "<b>\(xmlEscaped(finding.summary))</b><br>evidence: \(xmlEscaped(finding.evidence))<br>action: \(xmlEscaped(finding.action))</li>"
        }.joined() + "</ul>"
    }

    private static func peaks(_ run: RunDocument) -> String {
        guard !run.peaks.isEmpty else { return "" }
        let rows = run.peaks.map { peak in
            [peak.device, peak.probe.rawValue, peak.variant].map(xmlEscaped)
                + [peak.value.map { String(format: "%.1f", $0) } ?? xmlEscaped(peak.reason ?? peak.status.rawValue), xmlEscaped(peak.unit)]
        }
        return "<h2>Peaks</h2>" + table(["device", "probe", "variant", "best", "unit"], rows, numeric: [3])
    }

    private static func rooflines(_ run: RunDocument) -> String {
        let devices = Set(run.results.filter { $0.gflops != nil }.map(\.device)).sorted()
        guard !devices.isEmpty else { return "" }
        return "<h2>Rooflines</h2><div class=\"charts\">" + devices.map { device in
            let roofline = Roofline(device: device, peaks: run.peaks, theoretical: run.theoreticalPeaks)
            let name = run.node.devices.first { $0.id == device }?.name ?? device
            return "<div>" + RooflineSVG.render(roofline, deviceName: name, results: run.results.filter { $0.device == device }) + "</div>"
        }.joined() + "</div>"
    }

    /// Per device and type, GFLOP/s against FLOPs: one line per implementation and layout (GEMM)
    /// or implementation, masking and head dimension (attention).
    private static func sweeps(_ run: RunDocument) -> String {
        var html = ""
        for kernel in KernelKind.allCases {
            let measured = run.results.filter { $0.kernel == kernel && $0.gflops != nil && $0.variant == nil }
            guard !measured.isEmpty else { continue }
            html += "<h2>\(kernel == .gemm ? "GEMM" : "Attention") sweeps</h2><div class=\"charts\">"
            let groups = Dictionary(grouping: measured) { "\($0.device) \($0.dtype.rawValue)" }
            for title in groups.keys.sorted() {
                let lines = Dictionary(grouping: groups[title]!) { result in
                    kernel == .gemm
                        ? "\(result.implementation) \(result.layout?.rawValue ?? "")"
                        : "\(result.implementation) d\(result.attention?.headDim ?? 0)\(result.attention?.causal == true ? " causal" : "")"
                }
                let series = lines.keys.sorted().map { name in
                    SweepChart.Series(name: name, points: lines[name]!.map { ($0.flops, $0.gflops!) })
                }
                html += "<div>" + SweepChart.render(title: "\(kernel.rawValue) on \(title)", xLabel: "FLOPs per call", series: series) + "</div>"
            }
            html += "</div>"
        }
        return html
    }

    /// Every case with its devices and implementations side by side: CPU and accelerators.
    private static func sideBySide(_ run: RunDocument) -> String {
        let rows = run.results.map { result in
            [result.caseDescription, result.device, result.implementation + (result.variant.map { " [\($0)]" } ?? "")].map(xmlEscaped) + [
                result.gflops.map { String(format: "%.1f", $0) } ?? xmlEscaped(result.status.rawValue),
                RunReport.percentCell(result.efficiency),
                result.crossCheck.map { String(format: "%.2e vs %@", $0.maxAbsDifference, xmlEscaped($0.against)) } ?? "-",
                xmlEscaped(RunReport.verificationCell(result.verification)),
            ]
        }
        return "<h2>Devices side by side</h2>"
            + table(["case", "device", "implementation", "GFLOP/s", "% peak", "max difference", "verification"], rows, numeric: [3, 4])
    }

    private static func comparison(_ comparison: RunComparison) -> String {
        var html = "<h2>Against the baseline</h2><p>\(xmlEscaped(comparison.currentName)) against \(xmlEscaped(comparison.baselineName)): "
        html += xmlEscaped(ComparisonReport.summary(comparison)) + ".</p>"
        if !comparison.environmentChanges.isEmpty {
            html += "<p class=\"warning\">Environment changed: " + comparison.environmentChanges.map(xmlEscaped).joined(separator: "; ") + "</p>"
        }
        if let caveat = ComparisonReport.caveat(comparison) { html += "<p class=\"warning\">\(xmlEscaped(caveat))</p>" }
        let rows = ComparisonReport.rows(comparison).map { row in
            row.dropLast().map(xmlEscaped) + ["<span class=\"\(row.last!)\">\(row.last!)</span>"]
        }
        return html + table(ComparisonReport.columns, rows, numeric: [1, 2, 3, 4, 5, 6])
    }
}
