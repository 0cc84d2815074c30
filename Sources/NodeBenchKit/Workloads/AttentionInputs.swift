/// Q, K and V of one attention case, generated from a seed and rounded to the storage type, so
/// every implementation and the reference see exactly the same numbers. Row-major
/// `[batch][head][position][dim]`; K and V have `kvHeads` heads.
public struct AttentionInputs: Sendable {
    public let attention: AttentionCase
    public let q: [Double]
    public let k: [Double]
    public let v: [Double]

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
    }

    /// Offset of row `position` of head `head` in batch `batch`, in a tensor of `headCount` heads.
    static func rowOffset(_ shape: AttentionShape, batch: Int, head: Int, headCount: Int, position: Int) -> Int {
        ((batch * headCount + head) * shape.seq + position) * shape.headDim
    }
}
