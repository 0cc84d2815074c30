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

    /// The step is `--seq` long (default 2048), of type `--dtype` (default bf16).
    var choice: RunRequest.ModelChoice? {
        model.map { RunRequest.ModelChoice(name: $0, microBatch: microBatch, tensorParallel: tensorParallel) }
    }
}
