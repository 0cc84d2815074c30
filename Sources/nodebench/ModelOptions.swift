import ArgumentParser
import NodeBenchKit

/// `run --model`: the GEMMs and attention of one transformer layer's training step, and the LM head.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model preset (gpt2-124m, llama3-8b, llama3-70b) or a JSON file of its dimensions; runs its training step's cases.")
    var model: String?

    @Option(name: .customLong("micro-batch"), help: "Sequences per step with --model.")
    var microBatch = 1

    @Option(name: .customLong("tensor-parallel"), help: "Devices that split each layer with --model (heads and MLP columns).")
    var tensorParallel = 1

    /// The step `--model` asks for: its sequence from `--seq` (default 2048), its type from `--dtype` (default bf16).
    func trainingStep(seqs: [Int], dtypes: [DType]) throws -> TrainingStep? {
        guard let model else { return nil }
        guard seqs.count <= 1, dtypes.count <= 1 else {
            throw ValidationError("--model takes one --seq and one --dtype")
        }
        do {
            return try TrainingStep(
                model: try TransformerModel.named(model), seq: seqs.first ?? 2048, microBatch: microBatch,
                tensorParallel: tensorParallel, dtype: dtypes.first ?? .bf16)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
