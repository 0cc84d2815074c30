import Foundation

/// What one `run` asks for, before anything is measured: which cases (a suite narrowed by
/// dimensions, or a model's training step), on which devices, how to measure them and what to
/// inject on purpose. The defaults and what is allowed are decided here; a child run (the host
/// again under another OpenBLAS core type) receives the request whole, as JSON.
public struct RunRequest: Codable, Sendable, Equatable {
    public var suite: Suite.Name
    /// Kernels named explicitly; empty: what the other choices imply.
    public var kernels: [KernelKind]
    /// Each non-empty list replaces the suite's for its dimension.
    public var shapes: [GEMMShape]
    public var layouts: [GEMMLayout]
    public var dtypes: [DType]
    public var alpha: Double
    public var beta: Double
    public var attention: AttentionDimensions
    /// Attention and layer-op passes to run; empty: the suite's.
    public var passes: [Pass]
    public var layerOps: Suite.LayerOpDimensions
    /// Empty: every implementation that applies.
    public var implementations: [Implementation]
    public var model: ModelChoice?
    /// Device ids; empty: every device.
    public var devices: [String]
    /// nil: the suite's.
    public var repetitions: Int?
    public var seed: UInt64
    public var measurePeaks: Bool
    /// Also run the host cases with `OPENBLAS_CORETYPE` set to this, side by side.
    public var blasCoreType: String?
    /// A tuning file exported by another node, taking precedence over the tuning cache.
    public var tunedParameters: String?
    public var caseTimeout: Double
    /// Seconds each device is kept under GEMM load after the cases (`--burn-in`); nil: none.
    public var burnIn: Double?
    public var slowdowns: [InjectedSlowdown]
    public var faults: [PlannedFault]

    public init(
        suite: Suite.Name = .standard, kernels: [KernelKind] = [], shapes: [GEMMShape] = [], layouts: [GEMMLayout] = [], dtypes: [DType] = [],
        alpha: Double = 1, beta: Double = 0, attention: AttentionDimensions = AttentionDimensions(), passes: [Pass] = [],
        layerOps: Suite.LayerOpDimensions = Suite.LayerOpDimensions(), implementations: [Implementation] = [],
        model: ModelChoice? = nil, devices: [String] = [], repetitions: Int? = nil, seed: UInt64 = 42, measurePeaks: Bool = true,
        blasCoreType: String? = nil, tunedParameters: String? = nil, caseTimeout: Double = Runner.defaultCaseTimeout,
        burnIn: Double? = nil, slowdowns: [InjectedSlowdown] = [], faults: [PlannedFault] = []
    ) {
        self.suite = suite
        self.kernels = kernels
        self.shapes = shapes
        self.layouts = layouts
        self.dtypes = dtypes
        self.alpha = alpha
        self.beta = beta
        self.attention = attention
        self.passes = passes
        self.layerOps = layerOps
        self.implementations = implementations
        self.model = model
        self.devices = devices
        self.repetitions = repetitions
        self.seed = seed
        self.measurePeaks = measurePeaks
        self.blasCoreType = blasCoreType
        self.tunedParameters = tunedParameters
        self.caseTimeout = caseTimeout
        self.burnIn = burnIn
        self.slowdowns = slowdowns
        self.faults = faults
    }

    /// The attention problem asked for; any dimension given replaces the suite's attention shapes.
    public struct AttentionDimensions: Codable, Sendable, Equatable {
        public var batch: Int?
        public var heads: Int?
        public var kvHeads: Int?
        public var seqs: [Int]
        public var headDims: [Int]
        public var causal: Bool

        public init(batch: Int? = nil, heads: Int? = nil, kvHeads: Int? = nil, seqs: [Int] = [], headDims: [Int] = [], causal: Bool = false) {
            self.batch = batch
            self.heads = heads
            self.kvHeads = kvHeads
            self.seqs = seqs
            self.headDims = headDims
            self.causal = causal
        }

        public var isGiven: Bool { batch != nil || heads != nil || kvHeads != nil || !seqs.isEmpty || !headDims.isEmpty || causal }

        /// Every combination of the given sequence lengths and head dimensions; empty when nothing
        /// is given. Unset ones are batch 1, 8 heads (key/value heads as many), sequence 1024, head dim 64.
        public func shapes() throws(UsageError) -> [AttentionShape] {
            guard isGiven else { return [] }
            let heads = self.heads ?? 8
            var shapes: [AttentionShape] = []
            for seq in seqs.isEmpty ? [1024] : seqs {
                for headDim in headDims.isEmpty ? [64] : headDims {
                    shapes.append(
                        try AttentionShape(batch: batch ?? 1, heads: heads, kvHeads: kvHeads ?? heads, seq: seq, headDim: headDim, causal: causal))
                }
            }
            return shapes
        }
    }

    /// `run --model`: one transformer layer's training step; its sequence is the one `--seq`
    /// (default 2048), its type the one `--dtype` (default bf16).
    public struct ModelChoice: Codable, Sendable, Equatable {
        /// A preset's name or a JSON file of the model's dimensions.
        public var name: String
        public var microBatch: Int
        public var tensorParallel: Int

        public init(name: String, microBatch: Int = 1, tensorParallel: Int = 1) {
            self.name = name
            self.microBatch = microBatch
            self.tensorParallel = tensorParallel
        }
    }

    /// Says what is wrong with the request, in one line, before anything runs.
    public func validate() throws(UsageError) {
        if let repetitions, !(1...1000).contains(repetitions) { throw UsageError("--repetitions must be from 1 to 1000") }
        guard caseTimeout > 0 && caseTimeout <= 86_400 else { throw UsageError("--case-timeout must be from 0 to 86400 seconds") }
        if let burnIn, !(1...86_400).contains(burnIn) { throw UsageError("--burn-in must be from 1 second to 24 hours") }
        guard alpha.isFinite, beta.isFinite else { throw UsageError("--alpha and --beta must be finite numbers") }
        if selectedKernels.contains(.attention), !dtypes.isEmpty, !dtypes.contains(where: AttentionCase.dtypes.contains) {
            throw UsageError("attention runs fp32, fp16 and bf16; --dtype \(dtypes.map(\.rawValue).joined(separator: ", ")) leaves it nothing")
        }
        if selectedKernels.contains(.layer), !dtypes.isEmpty, !dtypes.contains(where: LayerOpCase.dtypes.contains) {
            throw UsageError("layer ops run fp32, fp16 and bf16; --dtype \(dtypes.map(\.rawValue).joined(separator: ", ")) leaves them nothing")
        }
        // A model's step takes only --seq from the attention options; the others are still checked.
        _ = try attention.shapes()
        _ = try cases()
    }

    /// The kernels asked for, or implied: GEMM choices alone mean GEMM, attention choices alone attention.
    public var selectedKernels: Set<KernelKind> {
        if !kernels.isEmpty { return Set(kernels) }
        let gemm = !shapes.isEmpty || !layouts.isEmpty || alpha != 1 || beta != 0
        var implied = Set<KernelKind>()
        if gemm || implementations.contains(where: { $0.kernel == .gemm }) { implied.insert(.gemm) }
        if attention.isGiven || (!passes.isEmpty && !layerOps.isGiven) || implementations.contains(where: { $0.kernel == .attention }) {
            implied.insert(.attention)
        }
        if layerOps.isGiven || implementations.contains(where: { $0.kernel == .layer }) { implied.insert(.layer) }
        return implied.isEmpty ? Set(KernelKind.allCases) : implied
    }

    /// The implementations named, else the suite's own choice, else every one.
    public var selectedImplementations: Set<Implementation> {
        implementations.isEmpty ? Suite.named(suite).implementations ?? Set(Implementation.allCases) : Set(implementations)
    }

    public var injections: DebugInjections { DebugInjections(slowdowns: slowdowns, faults: faults) }

    /// The training step `model` asks for, or nil without one.
    public func trainingStep() throws(UsageError) -> TrainingStep? {
        guard let model else { return nil }
        guard attention.seqs.count <= 1, dtypes.count <= 1 else { throw UsageError("--model takes one --seq and one --dtype") }
        return try TrainingStep(
            model: try TransformerModel.named(model.name), seq: attention.seqs.first ?? 2048, microBatch: model.microBatch,
            tensorParallel: model.tensorParallel, dtype: dtypes.first ?? .bf16)
    }

    /// The cases to run and how long to measure each.
    public func cases() throws(UsageError) -> Suite {
        let named = Suite.named(suite)
        let sampling = named.sampling.repeated(repetitions ?? named.sampling.repetitions)
        if let step = try trainingStep() { return step.suite(sampling: sampling) }
        return try named.selecting(
            kernels: selectedKernels, shapes: shapes, layouts: layouts, dtypes: dtypes, alpha: alpha, beta: beta,
            attentionShapes: try attention.shapes(), passes: passes, layer: layerOps, sampling: sampling)
    }

    /// The GEMM a burn-in keeps running: the first of the cases asked for, else the screen's first.
    public func burnInCase() throws(UsageError) -> GEMMCase {
        try cases().cases.first ?? Suite.named(.screen).cases[0]
    }

    /// The request of the child run that measures the host's OpenBLAS cases again under
    /// `blasCoreType`: the same cases on the host alone, without peaks.
    var hostRerun: RunRequest {
        var child = self
        child.implementations = [.openblas]
        child.devices = [DeviceDescriptor.hostID]
        child.measurePeaks = false
        child.blasCoreType = nil
        child.burnIn = nil
        return child
    }

    /// The request as one line of JSON, for a child process.
    public func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public init(decoding json: String) throws(UsageError) {
        do {
            self = try JSONDecoder().decode(RunRequest.self, from: Data(json.utf8))
        } catch {
            throw UsageError("--request is not a run request this nodebench reads: \(error.localizedDescription)")
        }
    }
}
