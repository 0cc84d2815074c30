import Foundation

/// The table of peak probes: measured beside theoretical, with the source of the theoretical one.
public enum PeakReport {
    public static func table(_ peaks: [PeakMeasurement], theoretical: [TheoreticalPeak]) -> String {
        var table = TextTable([
            ("device", .left), ("probe", .left), ("variant", .left), ("measured", .right), ("unit", .left),
            ("CV %", .right), ("theoretical", .right), ("% of theor.", .right), ("configuration / reason", .left),
        ])
        for peak in peaks {
            let roof = peak.probe == .compute
                ? theoretical.first { $0.device == peak.device && $0.dtype.rawValue == peak.variant } : nil
            table.add([
                peak.device, peak.probe.rawValue, peak.variant,
                peak.value.map { String(format: peak.probe == .launchLatency ? "%.1f" : "%.1f", $0) } ?? "-", peak.unit,
                peak.stats.map { String(format: "%.1f", $0.cv * 100) } ?? "-",
                roof.map { String(format: "%.1f", $0.gflops) } ?? "-",
                zip(peak.value, roof).map { String(format: "%.0f%%", $0 / $1.gflops * 100) } ?? "-",
                peak.status == .ok ? peak.configuration ?? "" : "\(peak.status.rawValue): \(peak.reason ?? "")",
            ])
        }
        var text = table.render()
        for roof in theoretical {
            text += "theoretical \(roof.device) \(roof.dtype.rawValue): \(String(format: "%.1f", roof.gflops)) GFLOP/s = \(roof.source)\n"
        }
        return text
    }
}

private func zip(_ value: Double?, _ roof: TheoreticalPeak?) -> (Double, TheoreticalPeak)? {
    guard let value, let roof else { return nil }
    return (value, roof)
}
