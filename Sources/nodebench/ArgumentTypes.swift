import ArgumentParser
import NodeBenchKit

extension DType: ExpressibleByArgument {}

extension GEMMLayout: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(rawValue: argument.uppercased())
    }
}

extension Suite.Name: ExpressibleByArgument {}

extension SizeClass: ExpressibleByArgument {}

extension Implementation: ExpressibleByArgument {}

extension KernelKind: ExpressibleByArgument {}

extension FleetNode.Verdict: ExpressibleByArgument {}

/// `--shape MxNxK`, with the parser's own message for bad input.
func parseShape(_ text: String) throws -> GEMMShape {
    do {
        return try GEMMShape(parsing: text)
    } catch {
        throw ValidationError(error.description)
    }
}

/// `--burn-in 10m`: seconds from a number with an optional unit, s, m or h.
func parseDuration(_ text: String) throws -> Double {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
    let unit = text.last.flatMap { units[$0] }
    guard let value = Double(unit == nil ? text : String(text.dropLast())), value.isFinite, value > 0 else {
        throw ValidationError("'\(text)' is not a duration: give a number of seconds, or one with s, m or h (90s, 10m, 1h)")
    }
    return value * (unit ?? 1)
}
