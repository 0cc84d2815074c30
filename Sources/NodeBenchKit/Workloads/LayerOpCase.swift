/// The memory-bound operations of a transformer layer beside its GEMMs and attention: each reads
/// its inputs once and writes its outputs once, so what limits it is the device's memory bandwidth.
/// Every op works on `rows` tokens of `width` values; statistics and sums are fp32.
public enum LayerOp: String, Codable, Sendable, CaseIterable {
    /// Llama's norm: `y = x / sqrt(mean(x²) + ε) · w`, saving each row's reciprocal root.
    case rmsnorm
    /// GPT-2's norm: `y = (x - mean) / sqrt(var + ε) · w + b`, saving each row's mean and reciprocal root.
    case layernorm
    /// GPT-2's activation, the tanh approximation: `y = x/2 · (1 + tanh(√(2/π)(x + 0.044715x³)))`.
    case gelu
    /// Llama's gated activation: `y = silu(gate) · up`, gate and up each `rows x width`.
    case swiglu
    /// The residual add `y = a + b`; its backward sums a tensor's two gradients the same way.
    case residual
    /// Rotary position embedding on heads of `headDim` (rotate-half pairs, base 10000, position = row).
    case rotary
    /// Softmax cross-entropy of `width`-way logits against one target per row (the LM head's loss).
    case crossEntropy = "cross-entropy"

    /// ε of both norms.
    static let normEpsilon = 1e-5
    /// Rotary frequencies: position · base^(-2i/headDim).
    static let rotaryBase = 10_000.0
}

/// One layer op to run: its op and pass, `rows x width` values stored as `dtype`.
public struct LayerOpCase: Hashable, Codable, Sendable, CustomStringConvertible {
    public let op: LayerOp
    public let pass: Pass
    public let rows: Int
    public let width: Int
    /// The rotary embedding's head dimension (it rotates each head of the row); nil for other ops.
    public let headDim: Int?
    public let dtype: DType

    /// Storage types the ops run in, as attention does.
    public static let dtypes: [DType] = AttentionCase.dtypes

    public init(_ op: LayerOp, pass: Pass = .forward, rows: Int, width: Int, headDim: Int? = nil, dtype: DType) throws(UsageError) {
        for (name, value) in [("--rows", rows), ("--width", width)] where value < 1 || value > AttentionShape.maxElements {
            throw UsageError("\(name) \(value): must be between 1 and \(AttentionShape.maxElements)")
        }
        guard Double(rows) * Double(width) <= Double(AttentionShape.maxElements) else {
            throw UsageError("\(op.rawValue) of \(rows) x \(width) has too many elements to address")
        }
        guard LayerOpCase.dtypes.contains(dtype) else { throw UsageError("layer ops run fp32, fp16 or bf16, not \(dtype.rawValue)") }
        if op == .rotary {
            guard let headDim, headDim >= 2, headDim % 2 == 0, width % headDim == 0 else {
                throw UsageError("rotary turns heads of \(headDim.map(String.init) ?? "no") values: --width \(width) must be a multiple of an even head dimension")
            }
        }
        self.init(checked: op, pass: pass, rows: rows, width: width, headDim: op == .rotary ? headDim : nil, dtype: dtype)
    }

    private init(checked op: LayerOp, pass: Pass, rows: Int, width: Int, headDim: Int?, dtype: DType) {
        self.op = op
        self.pass = pass
        self.rows = rows
        self.width = width
        self.headDim = headDim
        self.dtype = dtype
    }

    public var elements: Int { rows * width }

    public var description: String {
        "\(op.rawValue) \(dtype.rawValue) \(rows)x\(width)" + (headDim.map { " d\($0)" } ?? "") + (pass == .backward ? " backward" : "")
    }

    /// The same op the other way.
    public func with(pass: Pass) -> LayerOpCase {
        LayerOpCase(checked: op, pass: pass, rows: rows, width: width, headDim: headDim, dtype: dtype)
    }

    /// Arithmetic per element, counted loosely (an exponential or tanh as one operation): these
    /// ops are read against memory bandwidth, not against a compute peak.
    public var flops: Double { Double(elements) * flopsPerElement }

    private var flopsPerElement: Double {
        switch (op, pass) {
        case (.rmsnorm, .forward): 4
        case (.rmsnorm, .backward): 8
        case (.layernorm, .forward): 6
        case (.layernorm, .backward): 11
        case (.gelu, .forward): 9
        case (.gelu, .backward): 14
        case (.swiglu, .forward): 5
        case (.swiglu, .backward): 9
        case (.residual, _): 1
        case (.rotary, _): 3
        case (.crossEntropy, .forward): 4
        case (.crossEntropy, .backward): 4
        }
    }

    public var flopsModel: String { "elements x operations per element (a transcendental counted as one); read against memory bandwidth" }

    /// Tensors read and written as stored (row statistics, targets and rotary tables as fp32 or
    /// int32): the least traffic the op needs. Weight gradients count once, not per row.
    public var minimumTrafficBytes: Double {
        let n = Double(elements), row = Double(rows), column = Double(width), storage = Double(dtype.storageBytes)
        switch (op, pass) {
        case (.rmsnorm, .forward): return (2 * n + column) * storage + 4 * row
        case (.rmsnorm, .backward): return (3 * n + 2 * column) * storage + 4 * row
        case (.layernorm, .forward): return (2 * n + 2 * column) * storage + 8 * row
        case (.layernorm, .backward): return (3 * n + 3 * column) * storage + 8 * row
        case (.gelu, .forward): return 2 * n * storage
        case (.gelu, .backward): return 3 * n * storage
        case (.swiglu, .forward): return 3 * n * storage
        case (.swiglu, .backward): return 5 * n * storage
        case (.residual, _): return 3 * n * storage
        case (.rotary, _): return 2 * n * storage + 4 * row * Double(headDim ?? 2)
        case (.crossEntropy, .forward): return n * storage + 12 * row
        case (.crossEntropy, .backward): return 2 * n * storage + 8 * row
        }
    }

    /// Elements of the result, its outputs one after another (a norm's backward: dx, then the
    /// weight's gradient, then the bias's; cross-entropy forward: each row's loss).
    public var outputElements: Int {
        switch (op, pass) {
        case (.rmsnorm, .backward): elements + width
        case (.layernorm, .backward): elements + 2 * width
        case (.swiglu, .backward): 2 * elements
        case (.crossEntropy, .forward): rows
        default: elements
        }
    }
}
