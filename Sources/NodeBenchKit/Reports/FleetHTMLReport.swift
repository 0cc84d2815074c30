import Foundation

/// One self-contained page about a fleet: the suspects ranked with their evidence, a node x case
/// heat map (colour: time / fleet median), and each case's distribution over the fleet. Past
/// `maxRows` nodes the healthy ones are shown in bins, each cell the bin's worst device, so a
/// fleet of thousands stays one readable page; every flagged node keeps a row of its own.
enum FleetHTMLReport {
    static let maxRows = 120

    static func render(_ fleet: FleetDocument) -> String {
        var html = """
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>NodeBench fleet: \(xmlEscaped(fleet.folder))</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 16px}
            td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}td.n{text-align:right}th{background:#f0f0f0}
            table.heat td{padding:0 4px;font-size:11px;text-align:center;border-color:#eee}table.heat th{font-size:11px;writing-mode:vertical-rl;
            transform:rotate(180deg);max-height:260px}.corrupt,.failed,.missing{color:#b00;font-weight:bold}.slow{color:#b60;font-weight:bold}
            h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:28px}</style></head><body>
            """
        html += "<h1>NodeBench fleet: \(xmlEscaped(fleet.folder))</h1><p>\(xmlEscaped(FleetReport.summary(fleet))). "
        html += "Merged \(fleet.createdAt) by nodebench \(fleet.tool.version).</p>"
        return html + suspects(fleet) + heatMap(fleet) + distributions(fleet) + "</body></html>\n"
    }

    private static func suspects(_ fleet: FleetDocument) -> String {
        guard !fleet.flagged.isEmpty else { return "<h2>Suspect nodes</h2><p>None: every node is healthy.</p>" }
        let rows = fleet.flagged.map { node in
            [
                xmlEscaped(node.name), "<span class=\"\(node.verdict.rawValue)\">\(node.verdict.rawValue)</span>",
                node.evidence.map(xmlEscaped).joined(separator: "<br>"),
            ]
        }
        return "<h2>Suspect nodes</h2>" + HTMLReport.table(["node", "verdict", "evidence"], rows)
    }

    /// A row of the heat map: one node, or a bin of healthy nodes.
    private struct Row {
        var label: String
        var nodes: Set<String>
    }

    private static func heatMap(_ fleet: FleetDocument) -> String {
        guard !fleet.cases.isEmpty else { return "" }
        let flagged = fleet.flagged.filter { $0.verdict != .missing }
        let healthy = fleet.nodes.filter { $0.verdict == .healthy }
        var rows = flagged.map { Row(label: "\($0.name) (\($0.verdict.rawValue))", nodes: [$0.name]) }
        let binSize = max(1, Int((Double(healthy.count) / Double(max(1, maxRows - rows.count))).rounded(.up)))
        for start in stride(from: 0, to: healthy.count, by: binSize) {
            let bin = healthy[start..<min(healthy.count, start + binSize)]
            let label = bin.count == 1 ? bin.first!.name : "\(bin.first!.name) - \(bin.last!.name) (\(bin.count) nodes)"
            rows.append(Row(label: label, nodes: Set(bin.map(\.name))))
        }
        // The slowest device of the row's nodes in each case: a bin shows its worst.
        let worst = fleet.cases.map { fleetCase in
            Dictionary(fleetCase.ratios.map { ($0.node, $0.ratio) }, uniquingKeysWith: max)
        }
        var html = "<h2>Heat map</h2><p>Each cell: the slowest device's time in that case / the fleet median of its model"
        html += binSize > 1 ? "; healthy nodes in bins of \(binSize), each cell the bin's slowest device" : ""
        html += ". White is the median; red is \(FleetReport.percent(2 * fleet.threshold)) slower or more; blue is faster.</p>"
        html += "<table class=\"heat\"><tr><th>node</th>" + fleet.cases.map { "<th>\(xmlEscaped($0.label))</th>" }.joined() + "</tr>"
        for row in rows {
            html += "<tr><td style=\"text-align:left\">\(xmlEscaped(row.label))</td>"
            for ratios in worst {
                let ratio = row.nodes.compactMap { ratios[$0] }.max()
                html += ratio.map { "<td style=\"background:\(colour($0, threshold: fleet.threshold))\">\(String(format: "%.2f", $0))</td>" }
                    ?? "<td style=\"background:#ddd\">-</td>"
            }
            html += "</tr>"
        }
        return html + "</table>"
    }

    /// White at the median, red at twice the threshold slower, blue at the threshold faster.
    static func colour(_ ratio: Double, threshold: Double) -> String {
        let slower = min(1, max(0, log(ratio) / log(1 + 2 * threshold)))
        let faster = min(1, max(0, -log(ratio) / log(1 + threshold)))
        let fade = { (amount: Double) in Int((255 * (1 - 0.75 * amount)).rounded()) }
        return ratio >= 1 ? "rgb(255,\(fade(slower)),\(fade(slower)))" : "rgb(\(fade(faster)),\(fade(faster)),255)"
    }

    private static func distributions(_ fleet: FleetDocument) -> String {
        let rows = fleet.cases.map { fleetCase in
            [
                xmlEscaped(fleetCase.modelColumn(in: fleet)), xmlEscaped(fleetCase.implementation), xmlEscaped(fleetCase.name), String(fleetCase.devices),
                String(format: "%.3f", fleetCase.medianSeconds * 1e3), FleetReport.percent(fleetCase.spread),
                histogram(fleetCase.ratios.map(\.ratio), threshold: fleet.threshold),
                fleetCase.checksumAgreement.map { "\($0) of \(fleetCase.devices)" } ?? "-",
            ]
        }
        return "<h2>Each case over the fleet</h2>"
            + HTMLReport.table(
                ["device model", "impl", "case", "devices", "median ms", "spread", "ratio to the median", "checksums agree"], rows,
                numeric: [3, 4, 5])
    }

    /// Devices per bin of ratio, from 1 - threshold to 1 + 2 x threshold (the outer bins hold the rest).
    private static func histogram(_ ratios: [Double], threshold: Double) -> String {
        let bins = 24, width = 240.0, height = 36.0
        let low = 1 - threshold, high = 1 + 2 * threshold
        var counts = [Int](repeating: 0, count: bins)
        for ratio in ratios {
            let position = Int(((ratio - low) / (high - low) * Double(bins)).rounded(.down))
            counts[min(bins - 1, max(0, position))] += 1
        }
        let tallest = Double(counts.max() ?? 1)
        let barWidth = width / Double(bins)
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height) + 12)\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (index, count) in counts.enumerated() where count > 0 {
            let barHeight = max(1, height * Double(count) / tallest)
            let centre = low + (Double(index) + 0.5) * (high - low) / Double(bins)
            svg += String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" ", Double(index) * barWidth, height - barHeight,
                barWidth - 1, barHeight)
            svg += "fill=\"\(colour(centre, threshold: threshold))\"><title>\(count) devices</title></rect>"
        }
        let one = (1 - low) / (high - low) * width
        svg += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"0\" y2=\"%.0f\" stroke=\"#444\"/>", one, one, height)
        svg += String(format: "<text x=\"0\" y=\"%.0f\" font-size=\"10\">%.2f</text>", height + 11, low)
        svg += String(format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\" text-anchor=\"end\">%.2f</text>", width, height + 11, high)
        return svg + "</svg>"
    }
}
