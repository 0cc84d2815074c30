/// The dimensions of one multi-head attention: `O = softmax(Q·Kᵀ / √D [+ causal mask]) · V` for
/// every batch and query head. Grouped-query attention: query head `h` reads key/value head
/// `h / (heads / kvHeads)`.
public struct AttentionShape: Hashable, Codable, Sendable, CustomStringConvertible {
    public let batch: Int
    public let heads: Int
    public let kvHeads: Int
    /// Queries and keys per sequence.
    public let seq: Int
    public let headDim: Int
    /// Query `i` attends to keys `0...i` only.
    public let causal: Bool

    /// Every dimension's product stays addressable with 32-bit indices inside the kernels.
    public static let maxElements = Int(Int32.max)

    public init(batch: Int, heads: Int, kvHeads: Int, seq: Int, headDim: Int, causal: Bool) throws(UsageError) {
        for (name, value) in [("--batch", batch), ("--heads", heads), ("--kv-heads", kvHeads), ("--seq", seq), ("--head-dim", headDim)]
        where value < 1 || value > AttentionShape.maxElements {
            throw UsageError("\(name) \(value): must be between 1 and \(AttentionShape.maxElements)")
        }
        guard heads % kvHeads == 0 else {
            throw UsageError("--heads \(heads) must be a multiple of --kv-heads \(kvHeads) (grouped-query attention)")
        }
        guard headDim <= 256 else { throw UsageError("--head-dim \(headDim): head dimensions up to 256 are supported") }
        guard Double(batch) * Double(heads) * Double(seq) * Double(headDim) <= Double(AttentionShape.maxElements) else {
            throw UsageError("attention of batch \(batch), \(heads) heads, seq \(seq), head dim \(headDim) has too many elements to address")
        }
        self.batch = batch
        self.heads = heads
        self.kvHeads = kvHeads
        self.seq = seq
        self.headDim = headDim
        self.causal = causal
    }

    public var description: String {
        "b\(batch) h\(heads)" + (kvHeads == heads ? "" : "/kv\(kvHeads)") + " s\(seq) d\(headDim)" + (causal ? " causal" : "")
    }

    /// `4·B·H·S²·D`: two multiply-adds per (query, key, dimension), QKᵀ and PV; half with causal masking.
    public var flops: Double { causal ? unmaskedProductFlops : 2 * unmaskedProductFlops }

    public static let flopsModel = "4*B*H*S*S*D, halved with causal masking"

    /// One of the unfused path's matrix products over whole S x S matrices, masked or not: `2·B·H·S²·D`.
    var unmaskedProductFlops: Double { 2 * Double(batch) * Double(heads) * Double(seq) * Double(seq) * Double(headDim) }

    /// Elements of Q and O (`B·H·S·D`), and of K and V each (`B·Hkv·S·D`).
    public var queryElements: Int { batch * heads * seq * headDim }
    public var keyElements: Int { batch * kvHeads * seq * headDim }
    /// Query rows (one per batch, head and position), each with one logsumexp.
    public var queryRows: Int { batch * heads * seq }
    /// The key/value head query head `head` reads.
    public func kvHead(of head: Int) -> Int { head / (heads / kvHeads) }
}

/// Which way a case runs: the forward pass (attention: O and the logsumexp from Q, K, V), or the
/// backward (the gradients of the inputs from the output's gradient and what the forward saved).
public enum Pass: String, Codable, Sendable, CaseIterable {
    case forward, backward
}

/// One attention pass to run: a shape, the storage type of its tensors, and the pass. Scores,
/// softmax and sums are fp32 whatever the storage.
public struct AttentionCase: Hashable, Codable, Sendable, CustomStringConvertible {
    public let shape: AttentionShape
    public let dtype: DType
    public let pass: Pass

    /// Storage types attention runs in: fp32 and the 16-bit types training uses.
    public static let dtypes: [DType] = [.fp32, .fp16, .bf16]

    public init(shape: AttentionShape, dtype: DType, pass: Pass = .forward) {
        precondition(AttentionCase.dtypes.contains(dtype), "attention runs fp32, fp16 or bf16")
        self.shape = shape
        self.dtype = dtype
        self.pass = pass
    }

    public var description: String { "attention \(dtype.rawValue) \(shape)" + (pass == .backward ? " backward" : "") }

    /// The backward pass as the field counts it (FlashAttention-2): 2.5 times the forward's
    /// matrix products (QKᵀ recomputed, dO·Vᵀ, dV, dQ and dK against the forward's QKᵀ and PV).
    public var flops: Double { pass == .backward ? TrainingStep.attentionBackwardFactor * shape.flops : shape.flops }

    public var flopsModel: String {
        pass == .backward ? "2.5 x the forward's " + AttentionShape.flopsModel : AttentionShape.flopsModel
    }

    /// The least traffic the pass needs, as stored: forward reads Q, K, V and writes O; backward
    /// reads Q, K, V, O and dO and writes dQ, dK and dV.
    public var minimumTrafficBytes: Double {
        let elements = pass == .backward
            ? 4 * shape.queryElements + 4 * shape.keyElements
            : 2 * shape.queryElements + 2 * shape.keyElements
        return Double(elements) * Double(dtype.storageBytes)
    }

    /// Elements of the pass's output: O, or dQ, dK and dV one after another.
    public var outputElements: Int { pass == .backward ? shape.queryElements + 2 * shape.keyElements : shape.queryElements }
}
