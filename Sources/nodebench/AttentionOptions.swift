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

    var isGiven: Bool { batch != nil || heads != nil || kvHeads != nil || !seqs.isEmpty || !headDims.isEmpty || causal }

    /// Every combination of the given sequence lengths and head dimensions; empty when none of the
    /// options is given. Unset ones default to batch 1, 8 heads, sequence 1024, head dim 64.
    func shapes() throws -> [AttentionShape] {
        guard isGiven else { return [] }
        let heads = self.heads ?? 8
        do {
            return try (seqs.isEmpty ? [1024] : seqs).flatMap { seq in
                try (headDims.isEmpty ? [64] : headDims).map { headDim in
                    try AttentionShape(
                        batch: batch ?? 1, heads: heads, kvHeads: kvHeads ?? heads, seq: seq, headDim: headDim, causal: causal)
                }
            }
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
