/// A named set of cases and how long to measure each.
public struct Suite: Sendable {
    public enum Name: String, CaseIterable, Codable, Sendable {
        /// For CI: the whole run in about a minute on a 2-core machine.
        case quick
        /// The default: transformer-sized GEMMs, a few minutes on a small node.
        case standard
        /// Everything: larger shapes and more samples.
        case full
        /// Fleet screening: what decides a node's worth for LLM training, the same on every node,
        /// in minutes. The project's own kernels and the host BLAS only (a comparison library says
        /// nothing of the node).
        case screen
    }

    public let name: String
    /// GEMM cases: cross products of shapes, layouts and element types.
    public let groups: [CaseGroup]
    /// Attention cases: cross products of shapes and element types.
    public let attentionGroups: [AttentionGroup]
    /// Layer-op cases, each listed whole.
    public let layerCases: [LayerOpCase]
    public let sampling: SamplingPolicy
    /// What runs when a run names none: nil, every implementation.
    public let implementations: Set<Implementation>?

    public struct CaseGroup: Sendable {
        public var shapes: [GEMMShape]
        public var layouts: [GEMMLayout]
        public var dtypes: [DType]
        public var alpha: Double
        public var beta: Double

        public init(shapes: [GEMMShape], layouts: [GEMMLayout], dtypes: [DType], alpha: Double = 1, beta: Double = 0) {
            self.shapes = shapes
            self.layouts = layouts
            self.dtypes = dtypes
            self.alpha = alpha
            self.beta = beta
        }

        var cases: [GEMMCase] {
            dtypes.flatMap { dtype in
                layouts.flatMap { layout in
                    shapes.map { GEMMCase(shape: $0, layout: layout, dtype: dtype, alpha: alpha, beta: beta) }
                }
            }
        }
    }

    public struct AttentionGroup: Sendable {
        public var shapes: [AttentionShape]
        public var dtypes: [DType]
        public var passes: [Pass]

        public init(shapes: [AttentionShape], dtypes: [DType], passes: [Pass] = [.forward]) {
            self.shapes = shapes
            self.dtypes = dtypes.filter(AttentionCase.dtypes.contains)
            self.passes = passes
        }

        var cases: [AttentionCase] {
            passes.flatMap { pass in dtypes.flatMap { dtype in shapes.map { AttentionCase(shape: $0, dtype: dtype, pass: pass) } } }
        }
    }

    public init(
        name: String, groups: [CaseGroup], attentionGroups: [AttentionGroup] = [], layerCases: [LayerOpCase] = [], sampling: SamplingPolicy,
        implementations: Set<Implementation>? = nil
    ) {
        self.name = name
        self.implementations = implementations
        self.groups = groups
        self.attentionGroups = attentionGroups
        self.layerCases = unique(layerCases)
        self.sampling = sampling
    }

    /// How long the peak probes run before the cases.
    public var peakPolicy: PeakPolicy { name == Name.quick.rawValue ? .quick : .standard }

    /// Every GEMM case once, in the order the groups list them.
    public var cases: [GEMMCase] { unique(groups.flatMap(\.cases)) }

    /// Every attention case once, in the order the groups list them.
    public var attentionCases: [AttentionCase] { unique(attentionGroups.flatMap(\.cases)) }

    /// Every case of every kernel: GEMMs first, then attention, then the layer ops.
    public var workloads: [Workload] { cases.map(Workload.gemm) + attentionCases.map(Workload.attention) + layerCases.map(Workload.layer) }

    /// Both passes of every layer op at about `elements` values per tensor, in widths a Llama-8B
    /// layer has (GPT-2's vocabulary for the loss: a row of 50,257 logits).
    static func layerOps(elements: Int, dtypes: [DType]) -> [LayerOpCase] {
        let widths: [(LayerOp, width: Int, headDim: Int?)] = [
            (.rmsnorm, 4096, nil), (.layernorm, 4096, nil), (.gelu, 14336, nil), (.swiglu, 14336, nil), (.residual, 4096, nil),
            (.rotary, 40 * 128, 128), (.crossEntropy, 50257, nil),
        ]
        return dtypes.flatMap { dtype in
            widths.flatMap { op, width, headDim in
                Pass.allCases.map { pass in
                    // Constant widths and at least one row: valid by construction; no input reaches this.
                    try! LayerOpCase(op, pass: pass, rows: max(1, elements / width), width: width, headDim: headDim, dtype: dtype)
                }
            }
        }
    }

    public static func named(_ name: Name) -> Suite {
        let square = { (n: Int) in GEMMShape(m: n, n: n, k: n) }
        // The suites' shapes are constants, valid by construction; no input reaches this.
        let attention = { (b: Int, h: Int, kv: Int, s: Int, d: Int, causal: Bool) in
            try! AttentionShape(batch: b, heads: h, kvHeads: kv, seq: s, headDim: d, causal: causal)
        }
        switch name {
        case .quick:
            return Suite(
                name: "quick",
                groups: [
                    CaseGroup(shapes: [square(256), GEMMShape(m: 255, n: 129, k: 67)], layouts: GEMMLayout.allCases, dtypes: [.fp32]),
                    CaseGroup(shapes: [square(128)], layouts: [.nn], dtypes: [.fp64, .fp16, .bf16]),
                ],
                attentionGroups: [
                    AttentionGroup(shapes: [attention(1, 4, 2, 257, 64, true), attention(1, 4, 2, 257, 64, false)], dtypes: [.fp32]),
                    AttentionGroup(shapes: [attention(1, 2, 2, 128, 64, true)], dtypes: [.fp16, .bf16]),
                ],
                layerCases: layerOps(elements: 1 << 17, dtypes: [.fp32]) + layerOps(elements: 1 << 14, dtypes: [.fp16, .bf16]),
                sampling: SamplingPolicy(
                    repetitions: 10, warmupSeconds: 0.005, maxWarmupSeconds: 0.1, minSamples: 3, minSeconds: 0.03, maxSamples: 100,
                    maxSeconds: 0.5))
        case .standard:
            return Suite(
                name: "standard",
                groups: [
                    CaseGroup(shapes: [square(1024)], layouts: GEMMLayout.allCases, dtypes: [.fp32]),
                    CaseGroup(shapes: [GEMMShape(m: 512, n: 4096, k: 1024), GEMMShape(m: 1000, n: 3000, k: 17)], layouts: [.nt], dtypes: [.fp32]),
                    CaseGroup(shapes: [square(1024)], layouts: [.nn], dtypes: [.fp64, .fp16, .bf16]),
                ],
                attentionGroups: [
                    AttentionGroup(
                        shapes: [attention(1, 8, 8, 1024, 64, true), attention(1, 8, 8, 1024, 64, false), attention(1, 8, 2, 1024, 128, true)],
                        dtypes: [.fp32]),
                    AttentionGroup(shapes: [attention(1, 8, 8, 1024, 64, true)], dtypes: [.fp16, .bf16]),
                ],
                layerCases: layerOps(elements: 1 << 25, dtypes: [.fp32, .bf16]),
                sampling: SamplingPolicy(
                    repetitions: 5, warmupSeconds: 0.02, maxWarmupSeconds: 0.5, minSamples: 3, minSeconds: 0.2, maxSamples: 100,
                    maxSeconds: 2))
        case .full:
            return Suite(
                name: "full",
                groups: [
                    CaseGroup(shapes: [square(1024), square(2048), square(2047)], layouts: GEMMLayout.allCases, dtypes: [.fp32]),
                    CaseGroup(
                        shapes: [GEMMShape(m: 512, n: 4096, k: 1024), GEMMShape(m: 4096, n: 4096, k: 1000), GEMMShape(m: 1000, n: 3000, k: 17)],
                        layouts: GEMMLayout.allCases, dtypes: [.fp32]),
                    CaseGroup(shapes: [square(1024), square(2048)], layouts: GEMMLayout.allCases, dtypes: [.fp64, .fp16, .bf16]),
                ],
                attentionGroups: [
                    AttentionGroup(
                        shapes: [true, false].flatMap { causal in
                            [attention(1, 8, 8, 2048, 64, causal), attention(1, 8, 2, 2048, 128, causal), attention(1, 1, 1, 4096, 128, causal)]
                        },
                        dtypes: AttentionCase.dtypes),
                ],
                layerCases: layerOps(elements: 1 << 25, dtypes: LayerOpCase.dtypes),
                sampling: SamplingPolicy(
                    repetitions: 10, warmupSeconds: 0.05, maxWarmupSeconds: 1, minSamples: 3, minSeconds: 0.3, maxSamples: 200,
                    maxSeconds: 3))
        case .screen:
            // A layer's GEMMs in their three layouts (forward, and the two of backward) and the
            // 16-bit storage training uses; causal flash attention at a training sequence length.
            return Suite(
                name: "screen",
                groups: [
                    CaseGroup(shapes: [square(2048)], layouts: GEMMLayout.allCases, dtypes: [.fp32]),
                    CaseGroup(shapes: [square(2048)], layouts: [.nn], dtypes: [.bf16]),
                ],
                attentionGroups: [AttentionGroup(shapes: [attention(1, 8, 8, 2048, 64, true)], dtypes: [.fp32, .bf16])],
                sampling: SamplingPolicy(
                    repetitions: 5, warmupSeconds: 0.02, maxWarmupSeconds: 0.5, minSamples: 3, minSeconds: 0.1, maxSamples: 50,
                    maxSeconds: 1),
                implementations: [.openblas, .nodebench, .flash])
        }
    }

    /// The suite narrowed to `kernels`, with some dimensions replaced: each non-empty list replaces
    /// the suite's for that dimension, and the cases are all their combinations. GEMMs are scaled
    /// by `alpha` and `beta`; attention keeps only the types it runs and runs `passes` if
    /// given; layer ops are narrowed and resized by `layer`; `sampling` replaces the suite's.
    public func selecting(
        kernels: Set<KernelKind> = Set(KernelKind.allCases), shapes: [GEMMShape] = [], layouts: [GEMMLayout] = [],
        dtypes: [DType] = [], alpha: Double = 1, beta: Double = 0, attentionShapes: [AttentionShape] = [], passes: [Pass] = [],
        layer: LayerOpDimensions = LayerOpDimensions(), sampling: SamplingPolicy? = nil
    ) throws(UsageError) -> Suite {
        var gemmGroups: [CaseGroup] = []
        if kernels.contains(.gemm) {
            gemmGroups = shapes.isEmpty && layouts.isEmpty && dtypes.isEmpty
                ? groups.map { CaseGroup(shapes: $0.shapes, layouts: $0.layouts, dtypes: $0.dtypes, alpha: alpha, beta: beta) }
                : [CaseGroup(
                    shapes: shapes.isEmpty ? unique(cases.map(\.shape)) : shapes,
                    layouts: layouts.isEmpty ? unique(cases.map(\.layout)) : layouts,
                    dtypes: dtypes.isEmpty ? unique(cases.map(\.dtype)) : dtypes, alpha: alpha, beta: beta)]
        }
        var attention: [AttentionGroup] = []
        if kernels.contains(.attention) {
            attention = attentionShapes.isEmpty && dtypes.isEmpty
                ? attentionGroups
                : [AttentionGroup(
                    shapes: attentionShapes.isEmpty ? unique(attentionCases.map(\.shape)) : attentionShapes,
                    dtypes: dtypes.isEmpty ? unique(attentionCases.map(\.dtype)) : dtypes,
                    passes: unique(attentionCases.map(\.pass)))]
            if !passes.isEmpty {
                attention = attention.map { AttentionGroup(shapes: $0.shapes, dtypes: $0.dtypes, passes: passes) }
            }
        }
        var layerOps: [LayerOpCase] = []
        if kernels.contains(.layer) {
            let types = dtypes.isEmpty ? nil : dtypes.filter(LayerOpCase.dtypes.contains)
            for suiteCase in layerCases where layer.ops.isEmpty || layer.ops.contains(suiteCase.op) {
                // A width that splits no whole heads leaves the rotary embedding out, unless it is named.
                if let width = layer.width, let headDim = suiteCase.headDim, width % headDim != 0, layer.ops.isEmpty { continue }
                for dtype in types ?? [suiteCase.dtype] {
                    for pass in passes.isEmpty ? [suiteCase.pass] : passes {
                        layerOps.append(try LayerOpCase(
                            suiteCase.op, pass: pass, rows: layer.rows ?? suiteCase.rows, width: layer.width ?? suiteCase.width,
                            headDim: suiteCase.headDim, dtype: dtype))
                    }
                }
            }
        }
        return Suite(
            name: name, groups: gemmGroups, attentionGroups: attention, layerCases: layerOps, sampling: sampling ?? self.sampling,
            implementations: implementations)
    }

    /// The layer ops asked for: some ops (empty: all), and dimensions replacing the suite's.
    public struct LayerOpDimensions: Codable, Sendable, Equatable {
        public var ops: [LayerOp]
        public var rows: Int?
        public var width: Int?

        public init(ops: [LayerOp] = [], rows: Int? = nil, width: Int? = nil) {
            self.ops = ops
            self.rows = rows
            self.width = width
        }

        public var isGiven: Bool { !ops.isEmpty || rows != nil || width != nil }
    }
}

private func unique<T: Hashable>(_ values: [T]) -> [T] {
    var seen = Set<T>()
    return values.filter { seen.insert($0).inserted }
}
