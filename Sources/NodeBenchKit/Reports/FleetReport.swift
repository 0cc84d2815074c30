import Foundation

/// A fleet document for people: the verdict counts, every flagged node with its evidence, and each
/// case's spread over the fleet. Healthy nodes are counted, not listed: a fleet has thousands.
public enum FleetReport {
    public enum Format: String, CaseIterable, Sendable {
        case text, markdown, json, html
    }

    public static func render(_ fleet: FleetDocument, as format: Format) throws -> String {
        switch format {
        case .text: text(fleet)
        case .markdown: markdown(fleet)
        case .json: String(decoding: try FleetDocument.encoder.encode(fleet), as: UTF8.self) + "\n"
        case .html: FleetHTMLReport.render(fleet)
        }
    }

    /// "4 nodes: 2 healthy, 1 slow, 1 corrupt (suite screen, seed 42; slow: 10% beyond the fleet median, alpha 0.01)".
    public static func summary(_ fleet: FleetDocument) -> String {
        let counts = FleetNode.Verdict.allCases.compactMap { verdict -> String? in
            let count = fleet.nodes.filter { $0.verdict == verdict }.count
            return count == 0 ? nil : "\(count) \(verdict.rawValue)"
        }
        return "\(fleet.nodes.count) nodes: \(counts.joined(separator: ", ")) (suite \(fleet.suite), seed \(fleet.seed); slow: "
            + "\(percent(fleet.threshold)) beyond the fleet median and significant at \(fleet.alpha) over the fleet)"
    }

    static func text(_ fleet: FleetDocument) -> String {
        var text = summary(fleet) + "\n"
        if !fleet.flagged.isEmpty {
            var table = TextTable([("node", .left), ("verdict", .left), ("evidence", .left)])
            for node in fleet.flagged {
                for (index, line) in node.evidence.enumerated() {
                    table.add(index == 0 ? [node.name, node.verdict.rawValue, line] : ["", "", line])
                }
            }
            text += "\n" + table.render()
        }
        var cases = TextTable([
            ("device model", .left), ("impl", .left), ("case", .left), ("devices", .right), ("median ms", .right), ("spread", .right),
            ("ratio 5-95%", .right), ("checksums agree", .right),
        ])
        for fleetCase in fleet.cases { cases.add(caseRow(fleetCase, in: fleet)) }
        return text + "\n" + cases.render()
    }

    static func markdown(_ fleet: FleetDocument) -> String {
        var text = "# Fleet screen\n\n" + summary(fleet) + "\n"
        if !fleet.flagged.isEmpty {
            text += "\n| node | verdict | evidence |\n|---|---|---|\n"
            for node in fleet.flagged {
                text += "| \(node.name) | **\(node.verdict.rawValue)** | \(node.evidence.map(markdownEscaped).joined(separator: "<br>")) |\n"
            }
        }
        text += "\n| device model | impl | case | devices | median ms | spread | ratio 5-95% | checksums agree |\n"
        text += "|---|---|---|--:|--:|--:|--:|--:|\n"
        for fleetCase in fleet.cases {
            text += "| " + caseRow(fleetCase, in: fleet).map(markdownEscaped).joined(separator: " | ") + " |\n"
        }
        return text
    }

    private static func caseRow(_ fleetCase: FleetCase, in fleet: FleetDocument) -> [String] {
        let quantiles = fleetCase.ratioQuantiles
        return [
            fleetCase.modelColumn(in: fleet), fleetCase.implementation, fleetCase.name, String(fleetCase.devices),
            String(format: "%.3f", fleetCase.medianSeconds * 1e3), percent(fleetCase.spread),
            String(format: "%.3f-%.3f", quantiles.first ?? 1, quantiles.last ?? 1),
            fleetCase.checksumAgreement.map { "\($0) of \(fleetCase.devices)" } ?? "-",
        ]
    }

    static func percent(_ fraction: Double) -> String { String(format: fraction < 0.1 ? "%.1f%%" : "%.0f%%", fraction * 100) }

    private static func markdownEscaped(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
}

extension FleetDocument {
    public static var encoder: JSONEncoder { RunDocument.encoder }
}
