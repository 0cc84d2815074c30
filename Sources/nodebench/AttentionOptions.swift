import ArgumentParser
import NodeBenchKit

/// The attention problem `run --kernel attention` measures; any of them given replaces the suite's shapes.
struct AttentionOptions: ParsableArguments {
    @Option(help: "Batch size.")
    var batch: Int?

    @Option(help: "Query heads.")
    var heads: Int?

    @Option(name: .customLong("kv-heads"), help: "Key/value heads (grouped-query attention; default: --heads).")
    var kvHeads: Int?

    @Option(name: .customLong("seq"), help: "Sequence length (repeatable).")
    var seqs: [Int] = []

    @Option(name: .customLong("head-dim"), help: "Head dimension (repeatable).")
    var headDims: [Int] = []

    @Flag(help: "Causal masking (query i attends to keys 0...i).")
    var causal = false

    @Option(help: "Pass of attention and layer ops: forward, backward (input gradients from the output's) or both (default: the suite's).")
    var pass: PassChoice?

    enum PassChoice: String, ExpressibleByArgument, CaseIterable {
        case forward, backward, both

        var passes: [Pass] { self == .both ? [.forward, .backward] : [Pass(rawValue: rawValue)!] }
    }

    var dimensions: RunRequest.AttentionDimensions {
        RunRequest.AttentionDimensions(batch: batch, heads: heads, kvHeads: kvHeads, seqs: seqs, headDims: headDims, causal: causal)
    }
}
