import Foundation

/// A roofline picture of one device: compute roofs per type, the memory-bandwidth slope, and every
/// case as a numbered point at (arithmetic intensity, GFLOP/s), named in a key below the plot.
/// Log-log axes, no scripts.
public enum RooflineSVG {
    static let width = 760.0, plotHeight = 420.0, lineHeight = 15.0
    static let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0

    public static func render(_ roofline: Roofline, deviceName: String, results: [CaseResult]) -> String {
        let points = results.compactMap { result -> (x: Double, y: Double, label: String)? in
            // Only drawable points: a log axis has no place for zero, and no pixel for infinity.
            guard let gflops = result.gflops, let intensity = result.efficiency?.arithmeticIntensity,
                gflops.isFinite, gflops > 0, intensity.isFinite, intensity > 0
            else { return nil }
            let percent = result.efficiency?.percentOfPeak.map { String(format: " %.0f%%", $0) } ?? ""
            let variant = result.variant.map { " \($0)" } ?? ""
            return (intensity, gflops, "\(result.implementation)\(variant) \(result.caseDescription)\(percent)")
        }
        let roofs = roofline.compute.filter { $0.value.gflops.isFinite && $0.value.gflops > 0 }.sorted { $0.key.rawValue < $1.key.rawValue }
        let xs = points.map(\.x) + [0.5, 500]
        let ys = points.map(\.y) + roofs.map(\.value.gflops) + [1]
        let xRange = (log10(xs.min()! / 2), log10(xs.max()! * 2))
        let yRange = (log10(max(ys.min()! / 2, 1e-3)), log10(ys.max()! * 3))
        func px(_ x: Double) -> Double { left + (log10(x) - xRange.0) / (xRange.1 - xRange.0) * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - (log10(y) - yRange.0) / (yRange.1 - yRange.0) * (height - top - bottom) }
        let xMax = pow(10, xRange.1), xMin = pow(10, xRange.0)
        let height = plotHeight
        let keyLines = roofs.count + (roofline.bandwidthGBs == nil ? 0 : 1) + points.count
        let totalHeight = plotHeight + 20 + Double(keyLines) * lineHeight

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(totalHeight))" viewBox="0 0 \(Int(width)) \(Int(totalHeight))" font-family="sans-serif" font-size="11">
            <title>Roofline of \(xmlEscaped(roofline.device)) (\(xmlEscaped(deviceName)))</title>
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="20" font-size="14">Roofline: \(xmlEscaped(roofline.device)) — \(xmlEscaped(deviceName))</text>

            """
        // Axes with a tick per decade.
        svg += line(left, height - bottom, width - right, height - bottom, "black") + line(left, top, left, height - bottom, "black")
        for decade in Int(xRange.0.rounded(.up))...Int(xRange.1.rounded(.down)) {
            let x = px(pow(10, Double(decade)))
            svg += line(x, height - bottom, x, height - bottom + 5, "black")
            svg += text(x, height - bottom + 18, formatDecade(decade), anchor: "middle")
        }
        for decade in Int(yRange.0.rounded(.up))...Int(yRange.1.rounded(.down)) {
            let y = py(pow(10, Double(decade)))
            svg += line(left - 5, y, left, y, "black") + text(left - 8, y + 4, formatDecade(decade), anchor: "end")
        }
        svg += text((left + width - right) / 2, height - 12, "arithmetic intensity (FLOP/byte)", anchor: "middle")
        svg += "<text x=\"16\" y=\"\((top + height - bottom) / 2)\" transform=\"rotate(-90 16 \((top + height - bottom) / 2))\" text-anchor=\"middle\">GFLOP/s</text>\n"

        // Roofs: bandwidth slope up to each compute roof, then flat; each named in the key.
        let colors = ["fp32": "#1f77b4", "fp64": "#d62728", "fp16": "#2ca02c", "bf16": "#9467bd"]
        var keyY = plotHeight + 10
        func key(_ label: String, fill: String = "black") {
            keyY += lineHeight
            svg += text(left, keyY, label, anchor: "start", fill: fill)
        }
        for (dtype, roof) in roofs {
            let color = colors[dtype.rawValue] ?? "gray"
            let ridge = roofline.bandwidthGBs.map { roof.gflops / $0 } ?? xMin
            if let bandwidth = roofline.bandwidthGBs, ridge > xMin {
                svg += line(px(xMin), py(bandwidth * xMin), px(ridge), py(roof.gflops), color)
            }
            svg += line(px(max(ridge, xMin)), py(roof.gflops), px(xMax), py(roof.gflops), color)
            svg += text(width - right - 4, py(roof.gflops) - 4, "\(dtype.rawValue) peak", anchor: "end", fill: color)
            key("\(dtype.rawValue) compute roof: \(String(format: "%.1f", roof.gflops)) GFLOP/s (\(roof.source))", fill: color)
        }
        if let bandwidth = roofline.bandwidthGBs {
            key("memory bandwidth slope: \(String(format: "%.1f", bandwidth)) GB/s (best measured stream)")
        }
        for (index, point) in points.enumerated() {
            let (x, y) = (px(point.x), py(point.y))
            svg += "<g class=\"point\"><circle cx=\"\(fmt(x))\" cy=\"\(fmt(y))\" r=\"3.5\" fill=\"black\"><title>\(xmlEscaped(point.label))</title></circle>"
            svg += text(x + 5, y - 4, "\(index + 1)", anchor: "start") + "</g>\n"
            key("\(index + 1): \(point.label) — \(String(format: "%.1f", point.y)) GFLOP/s at \(String(format: "%.1f", point.x)) FLOP/byte")
        }
        return svg + "</svg>\n"
    }

    private static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ color: String) -> String {
        "<line x1=\"\(fmt(x1))\" y1=\"\(fmt(y1))\" x2=\"\(fmt(x2))\" y2=\"\(fmt(y2))\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n"
    }

    private static func text(_ x: Double, _ y: Double, _ content: String, anchor: String, fill: String = "black") -> String {
        "<text x=\"\(fmt(x))\" y=\"\(fmt(y))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\">\(xmlEscaped(content))</text>"
    }

    private static func formatDecade(_ decade: Int) -> String {
        decade >= 0 ? String(Int(pow(10, Double(decade)))) : String(pow(10, Double(decade)))
    }
}
