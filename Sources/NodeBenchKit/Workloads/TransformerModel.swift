import Foundation

/// The dimensions of a decoder-only transformer, enough to derive the GEMMs and attention of one
/// training step.
public struct TransformerModel: Codable, Sendable, Equatable {
    public var name: String
    /// Model width d.
    public var hiddenSize: Int
    public var heads: Int
    /// Key/value heads (grouped-query attention); equal to `heads` for multi-head attention.
    public var kvHeads: Int
    public var headDim: Int
    /// Width of the MLP's hidden layer.
    public var mlpSize: Int
    /// SwiGLU (gate, up, down) when true; a plain two-matrix MLP (up, down) otherwise.
    public var gatedMLP: Bool
    public var layers: Int
    public var vocabSize: Int

    /// Llama's family (a gated MLP): RMSNorm, SwiGLU and rotary embeddings; otherwise GPT-2's:
    /// LayerNorm, GELU and learned positions (no op of their own).
    public var llamaStyle: Bool { gatedMLP }

    public static let presets: [TransformerModel] = [
        TransformerModel(
            name: "gpt2-124m", hiddenSize: 768, heads: 12, kvHeads: 12, headDim: 64, mlpSize: 3072, gatedMLP: false,
            layers: 12, vocabSize: 50257),
        TransformerModel(
            name: "llama3-8b", hiddenSize: 4096, heads: 32, kvHeads: 8, headDim: 128, mlpSize: 14336, gatedMLP: true,
            layers: 32, vocabSize: 128_256),
        TransformerModel(
            name: "llama3-70b", hiddenSize: 8192, heads: 64, kvHeads: 8, headDim: 128, mlpSize: 28672, gatedMLP: true,
            layers: 80, vocabSize: 128_256),
    ]

    /// A preset by name, or a JSON file with this type's fields.
    public static func named(_ nameOrFile: String) throws(UsageError) -> TransformerModel {
        if let preset = presets.first(where: { $0.name == nameOrFile.lowercased() }) { return preset }
        let names = presets.map(\.name).joined(separator: ", ")
        guard FileManager.default.fileExists(atPath: nameOrFile) else {
            throw UsageError("unknown model '\(nameOrFile)': use one of \(names), or a JSON file with the model's dimensions")
        }
        let model: TransformerModel
        do {
            model = try JSONDecoder().decode(TransformerModel.self, from: Data(contentsOf: URL(fileURLWithPath: nameOrFile)))
        } catch {
            throw UsageError(
                "model file \(nameOrFile) is not a model: it needs name, hiddenSize, heads, kvHeads, headDim, mlpSize, gatedMLP, layers, vocabSize (\(error.localizedDescription))")
        }
        try model.validate()
        return model
    }

    func validate() throws(UsageError) {
        for (field, value) in [
            ("hiddenSize", hiddenSize), ("heads", heads), ("kvHeads", kvHeads), ("headDim", headDim), ("mlpSize", mlpSize),
            ("layers", layers), ("vocabSize", vocabSize),
        ] where value < 1 || value > GEMMShape.maxDimension {
            throw UsageError("model \(name): \(field) \(value) must be between 1 and \(GEMMShape.maxDimension)")
        }
        guard heads % kvHeads == 0 else { throw UsageError("model \(name): heads \(heads) must be a multiple of kvHeads \(kvHeads)") }
    }
}

/// The work of one training step of a model on one device: each linear layer's three GEMMs
/// (forward `NT`, input gradient `NN`, weight gradient `TN`) at `tokens = microBatch x seq` rows,
/// and causal attention. With tensor parallelism N, heads and the MLP's and vocabulary's columns
/// are split N ways (Megatron-style), so each device runs 1/N of every layer.
public struct TrainingStep: Sendable {
    public let model: TransformerModel
    public let seq: Int
    public let microBatch: Int
    public let tensorParallel: Int
    public let dtype: DType
    /// Causal self-attention over the device's share of the heads.
    public let attention: AttentionCase
    /// The memory-bound ops of a layer and of the step's end.
    public let layerOps: [LayerOpUse]

    /// One linear layer: `out = in · Wᵀ` for every token; `perLayer` false for the LM head (once per model).
    public struct Linear: Sendable, Equatable {
        public var name: String
        public var inputs: Int
        public var outputs: Int
        public var perLayer: Bool
    }

    public init(model: TransformerModel, seq: Int, microBatch: Int, tensorParallel: Int, dtype: DType) throws(UsageError) {
        try model.validate()
        for (option, value) in [("--seq", seq), ("--micro-batch", microBatch), ("--tensor-parallel", tensorParallel)] where value < 1 {
            throw UsageError("\(option) \(value): must be at least 1")
        }
        guard model.heads % tensorParallel == 0, model.mlpSize % tensorParallel == 0 else {
            throw UsageError(
                "--tensor-parallel \(tensorParallel) must divide \(model.name)'s \(model.heads) heads and MLP size \(model.mlpSize)")
        }
        guard AttentionCase.dtypes.contains(dtype) else { throw UsageError("--model runs fp32, fp16 or bf16, not \(dtype.rawValue)") }
        self.model = model
        self.seq = seq
        self.microBatch = microBatch
        self.tensorParallel = tensorParallel
        self.dtype = dtype
        let shape = try AttentionShape(
            batch: microBatch, heads: model.heads / tensorParallel, kvHeads: max(1, model.kvHeads / tensorParallel), seq: seq,
            headDim: model.headDim, causal: true)
        attention = AttentionCase(shape: shape, dtype: dtype)
        layerOps = try LayerOpUse.uses(of: model, tokens: microBatch * seq, tensorParallel: tensorParallel, dtype: dtype)
    }

    public var tokens: Int { microBatch * seq }

    /// The linear layers of one layer and the LM head, as one device of the tensor-parallel group sees them.
    public var linears: [Linear] {
        let n = tensorParallel
        let qkv = (model.heads + 2 * model.kvHeads) * model.headDim
        var linears = [
            Linear(name: "qkv", inputs: model.hiddenSize, outputs: max(1, qkv / n), perLayer: true),
            Linear(name: "attention-out", inputs: model.heads * model.headDim / n, outputs: model.hiddenSize, perLayer: true),
        ]
        if model.gatedMLP {
            linears.append(Linear(name: "mlp-gate", inputs: model.hiddenSize, outputs: model.mlpSize / n, perLayer: true))
        }
        linears += [
            Linear(name: "mlp-up", inputs: model.hiddenSize, outputs: model.mlpSize / n, perLayer: true),
            Linear(name: "mlp-down", inputs: model.mlpSize / n, outputs: model.hiddenSize, perLayer: true),
            Linear(name: "lm-head", inputs: model.hiddenSize, outputs: max(1, model.vocabSize / n), perLayer: false),
        ]
        return linears
    }

    /// Forward, input gradient and weight gradient of `linear`.
    public func gemms(_ linear: Linear) -> [GEMMCase] {
        [
            GEMMCase(shape: GEMMShape(m: tokens, n: linear.outputs, k: linear.inputs), layout: .nt, dtype: dtype),
            GEMMCase(shape: GEMMShape(m: tokens, n: linear.inputs, k: linear.outputs), layout: .nn, dtype: dtype),
            GEMMCase(shape: GEMMShape(m: linear.outputs, n: linear.inputs, k: tokens), layout: .tn, dtype: dtype),
        ]
    }


    /// FlashAttention-2's backward pass does 2.5 times the forward's matrix FLOPs (five products
    /// against two): how the backward's FLOPs are counted, and its time estimated on a device
    /// where no backward was measured.
    public static let attentionBackwardFactor = 2.5

    /// Model FLOPs of one step per token, for the whole model across the tensor-parallel group:
    /// every GEMM three times (forward and two gradients) and attention forward plus backward.
    public var modelFlopsPerToken: Double {
        let linearFlops = linears.reduce(0.0) { total, linear in
            total + gemms(linear).reduce(0) { $0 + $1.shape.flops } * Double(linear.perLayer ? model.layers : 1)
        }
        let attentionFlops = attention.shape.flops * (1 + Self.attentionBackwardFactor) * Double(model.layers)
        return (linearFlops + attentionFlops) * Double(tensorParallel) / Double(tokens)
    }

    /// A suite of exactly this step's cases.
    public func suite(sampling: SamplingPolicy) -> Suite {
        Suite(
            name: "model", groups: linears.flatMap(gemms).map { Suite.CaseGroup(shapes: [$0.shape], layouts: [$0.layout], dtypes: [dtype]) },
            attentionGroups: [Suite.AttentionGroup(shapes: [attention.shape], dtypes: [dtype], passes: [.forward, .backward])],
            layerCases: layerOps.flatMap { [$0.forward, $0.forward.with(pass: .backward)] }, sampling: sampling)
    }
}

/// One memory-bound op of a training step as one device runs it: `count` times per layer, or
/// once per step (the final norm and the loss). With tensor parallelism the MLP's activation,
/// the rotary embedding and the loss see the device's share of columns; norms and residual adds
/// run whole on every device (no sequence parallelism).
public struct LayerOpUse: Sendable, Equatable {
    public var name: String
    public var forward: LayerOpCase
    public var count: Int
    public var perLayer: Bool

    static func uses(of model: TransformerModel, tokens: Int, tensorParallel n: Int, dtype: DType) throws(UsageError) -> [LayerOpUse] {
        let norm: LayerOp = model.llamaStyle ? .rmsnorm : .layernorm
        let hidden = try LayerOpCase(norm, rows: tokens, width: model.hiddenSize, dtype: dtype)
        var uses = [
            LayerOpUse(name: norm.rawValue, forward: hidden, count: 2, perLayer: true),
            LayerOpUse(
                name: model.llamaStyle ? "swiglu" : "gelu",
                forward: try LayerOpCase(model.llamaStyle ? .swiglu : .gelu, rows: tokens, width: model.mlpSize / n, dtype: dtype), count: 1,
                perLayer: true),
            LayerOpUse(
                name: "residual", forward: try LayerOpCase(.residual, rows: tokens, width: model.hiddenSize, dtype: dtype), count: 2,
                perLayer: true),
        ]
        if model.llamaStyle {
            // Q's and K's heads, rotated in one pass.
            let heads = max(1, (model.heads + model.kvHeads) / n)
            uses.append(LayerOpUse(
                name: "rotary", forward: try LayerOpCase(.rotary, rows: tokens, width: heads * model.headDim, headDim: model.headDim, dtype: dtype),
                count: 1, perLayer: true))
        }
        uses += [
            LayerOpUse(name: "final-" + norm.rawValue, forward: hidden, count: 1, perLayer: false),
            LayerOpUse(
                name: "cross-entropy", forward: try LayerOpCase(.crossEntropy, rows: tokens, width: max(1, model.vocabSize / n), dtype: dtype),
                count: 1, perLayer: false),
        ]
        return uses
    }
}
