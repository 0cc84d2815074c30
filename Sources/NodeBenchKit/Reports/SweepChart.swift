import Foundation

/// A line chart of GFLOP/s against problem size, one line per series, log-scaled x: how a
/// device's throughput grows with the size of a kernel. Plain SVG, no scripts.
public enum SweepChart {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
    }

    static let width = 560.0, height = 300.0, left = 60.0, right = 170.0, top = 30.0, bottom = 40.0
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    public static func render(title: String, xLabel: String, series: [Series]) -> String {
        let points = series.flatMap(\.points)
        guard !points.isEmpty else { return "" }
        let xs = points.map { log10($0.x) }, maxY = max(points.map(\.y).max()! * 1.1, 1e-9)
        // A single size sits in the middle of a one-decade axis.
        let (xMin, xMax) = xs.min()! == xs.max()! ? (xs.min()! - 0.5, xs.max()! + 0.5) : (xs.min()!, xs.max()!)
        func px(_ x: Double) -> Double { left + (log10(x) - xMin) / (xMax - xMin) * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - y / maxY * (height - top - bottom) }
        var svg = ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" font-family="sans-serif" font-size="11">"##
        svg += ##"<text x="\##(left)" y="18" font-size="13" font-weight="bold">\##(xmlEscaped(title))</text>"##
        svg += ##"<line x1="\##(left)" y1="\##(height - bottom)" x2="\##(width - right)" y2="\##(height - bottom)" stroke="#333"/>"##
        svg += ##"<line x1="\##(left)" y1="\##(top)" x2="\##(left)" y2="\##(height - bottom)" stroke="#333"/>"##
        for step in 0...4 {
            let y = maxY * Double(step) / 4
            svg += ##"<text x="\##(left - 6)" y="\##(py(y) + 4)" text-anchor="end">\##(String(format: "%.0f", y))</text>"##
            svg += ##"<line x1="\##(left)" y1="\##(py(y))" x2="\##(width - right)" y2="\##(py(y))" stroke="#ddd"/>"##
        }
        for x in [xMin, xMax] where xs.contains(x) {
            svg += ##"<text x="\##(px(pow(10, x)))" y="\##(height - bottom + 14)" text-anchor="middle">\##(String(format: "%.2g", pow(10, x)))</text>"##
        }
        svg += ##"<text x="\##((left + width - right) / 2)" y="\##(height - 8)" text-anchor="middle">\##(xmlEscaped(xLabel)) (log scale)</text>"##
        svg += ##"<text x="14" y="\##((top + height - bottom) / 2)" transform="rotate(-90 14 \##((top + height - bottom) / 2))" text-anchor="middle">GFLOP/s</text>"##
        for (index, line) in series.enumerated() {
            let color = colors[index % colors.count]
            let sorted = line.points.sorted { $0.x < $1.x }
            let path = sorted.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            svg += ##"<polyline fill="none" stroke="\##(color)" stroke-width="2" points="\##(path)"/>"##
            for point in sorted {
                svg += ##"<circle cx="\##(String(format: "%.1f", px(point.x)))" cy="\##(String(format: "%.1f", py(point.y)))" r="3" fill="\##(color)"><title>\##(xmlEscaped(line.name)): \##(String(format: "%.1f", point.y)) GFLOP/s</title></circle>"##
            }
            let keyY = top + 14 * Double(index)
            svg += ##"<rect x="\##(width - right + 10)" y="\##(keyY)" width="10" height="10" fill="\##(color)"/>"##
            svg += ##"<text x="\##(width - right + 24)" y="\##(keyY + 9)">\##(xmlEscaped(line.name))</text>"##
        }
        return svg + "</svg>"
    }
}
