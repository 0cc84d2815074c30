/// Q, K and V of one attention case (and dO, the gradient of the output, for a backward pass),
/// generated from a seed and rounded to the storage type, so every implementation and the
/// reference see exactly the same numbers. Row-major `[batch][head][position][dim]`; K and V have
/// `kvHeads` heads.
public struct AttentionInputs: Sendable {
    public let attention: AttentionCase
    public let q: [Double]
    public let k: [Double]
    public let v: [Double]
    /// Shaped like Q; empty for a forward pass.
    public let gradOutput: [Double]

    public init(attention: AttentionCase, seed: UInt64) {
        self.attention = attention
        let shape = attention.shape
        var generatorQ = SplitMix64(seed: seed ^ 0x5151_5151)
        var generatorK = SplitMix64(seed: seed ^ 0x4B4B_4B4B)
        var generatorV = SplitMix64(seed: seed ^ 0x5656_5656)
        let dtype = attention.dtype
        q = (0..<shape.queryElements).map { _ in dtype.rounded(generatorQ.nextSigned()) }
        k = (0..<shape.keyElements).map { _ in dtype.rounded(generatorK.nextSigned()) }
        v = (0..<shape.keyElements).map { _ in dtype.rounded(generatorV.nextSigned()) }
        var generatorGrad = SplitMix64(seed: seed ^ 0x6464_6464)
        gradOutput = attention.pass == .backward ? (0..<shape.queryElements).map { _ in dtype.rounded(generatorGrad.nextSigned()) } : []
    }

    /// Inputs given element by element (already in the storage type).
    init(attention: AttentionCase, q: [Double], k: [Double], v: [Double], gradOutput: [Double]) {
        self.attention = attention
        self.q = q
        self.k = k
        self.v = v
        self.gradOutput = gradOutput
    }

    /// Offset of row `position` of head `head` in batch `batch`, in a tensor of `headCount` heads.
    static func rowOffset(_ shape: AttentionShape, batch: Int, head: Int, headCount: Int, position: Int) -> Int {
        ((batch * headCount + head) * shape.seq + position) * shape.headDim
    }
}
