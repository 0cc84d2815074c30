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
