import ArgumentParser
import NodeBenchKit

/// The layer ops `run --kernel layer` measures; any of them given selects the layer ops.
struct LayerOpOptions: ParsableArguments {
    @Option(
        name: .customLong("op"),
        help: "Layer op: rmsnorm, layernorm, gelu, swiglu, residual, rotary, cross-entropy (repeatable; default: all).",
        transform: { text in
            // Parsed here so that an unknown op is one line, not the parser's list of seven.
            guard let op = LayerOp(rawValue: text) else {
                throw ValidationError("unknown layer op '\(text)': use one of \(LayerOp.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return op
        })
    var ops: [LayerOp] = []

    @Option(help: "Rows (tokens) of every layer op.")
    var rows: Int?

    @Option(help: "Values per row of every layer op (cross-entropy: classes; rotary runs where it is a multiple of its 128-value heads).")
    var width: Int?

    var dimensions: Suite.LayerOpDimensions { Suite.LayerOpDimensions(ops: ops, rows: rows, width: width) }
}
