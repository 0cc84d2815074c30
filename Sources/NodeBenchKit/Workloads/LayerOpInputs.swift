import Foundation

/// The tensors of one layer-op case, generated from a seed and rounded to the storage type, so
/// every implementation and the reference see the same numbers. A backward case also carries what
/// its forward saved (row means and reciprocal roots, logsumexps), computed in fp64 and stored as
/// fp32 the way a forward pass stores them.
public struct LayerOpInputs: Sendable {
    public let layerOp: LayerOpCase
    /// x; swiglu's gate; the residual's first operand; cross-entropy's logits. `rows x width`.
    public internal(set) var x: [Double]
    /// swiglu's up projection; the residual's second operand; empty otherwise.
    public internal(set) var other: [Double]
    /// A norm's weight (and layernorm's bias), `width` each; empty otherwise.
    public internal(set) var weight: [Double]
    public internal(set) var bias: [Double]
    /// The output's gradient for a backward pass of a norm, an activation or the rotary embedding.
    public let gradOutput: [Double]
    /// Cross-entropy's target class of each row.
    public let targets: [Int32]
    /// The rotary angles' cosines and sines, `rows x headDim/2`, as fp32.
    public let cos: [Float]
    public let sin: [Float]
    /// Saved by the forward, one per row: a norm's mean (layernorm) and reciprocal root, or
    /// cross-entropy's logsumexp.
    public let mean: [Float]
    public let rstd: [Float]
    public let logsumexp: [Float]

    public init(layerOp: LayerOpCase, seed: UInt64) {
        self.layerOp = layerOp
        let (op, dtype, count) = (layerOp.op, layerOp.dtype, layerOp.elements)
        func tensor(_ salt: UInt64, count: Int, scale: Double = 1, offset: Double = 0) -> [Double] {
            var generator = SplitMix64(seed: seed ^ salt)
            return (0..<count).map { _ in dtype.rounded(offset + scale * generator.nextSigned()) }
        }
        // Logits spread like a trained model's (a few units); norm inputs off-centre so the mean matters.
        x = tensor(0x7878_7878, count: count, scale: op == .crossEntropy ? 4 : 1, offset: op == .layernorm ? 0.5 : 0)
        other = op == .swiglu || op == .residual ? tensor(0x6F6F_6F6F, count: count) : []
        let isNorm = op == .rmsnorm || op == .layernorm
        weight = isNorm ? tensor(0x7777_7777, count: layerOp.width, scale: 0.1, offset: 1) : []
        bias = op == .layernorm ? tensor(0x6262_6262, count: layerOp.width, scale: 0.1) : []
        let needsGradient = layerOp.pass == .backward && op != .residual && op != .crossEntropy
        gradOutput = needsGradient ? tensor(0x6464_6464, count: count) : []
        var generator = SplitMix64(seed: seed ^ 0x7474_7474)
        targets = op == .crossEntropy ? (0..<layerOp.rows).map { _ in Int32(generator.next() % UInt64(layerOp.width)) } : []
        if let headDim = layerOp.headDim {
            let half = headDim / 2
            let angles = (0..<layerOp.rows * half).map { index in
                Double(index / half) * pow(LayerOp.rotaryBase, -2 * Double(index % half) / Double(headDim))
            }
            cos = angles.map { Float(Foundation.cos($0)) }
            sin = angles.map { Float(Foundation.sin($0)) }
        } else {
            cos = []
            sin = []
        }
        let statistics = layerOp.pass == .backward ? LayerOpInputs.rowStatistics(layerOp, x) : ([], [], [])
        (mean, rstd, logsumexp) = statistics
    }

    /// What the forward saves of each row, in fp64, stored as fp32.
    static func rowStatistics(_ layerOp: LayerOpCase, _ x: [Double]) -> (mean: [Float], rstd: [Float], logsumexp: [Float]) {
        let width = layerOp.width
        var mean: [Float] = [], rstd: [Float] = [], logsumexp: [Float] = []
        for row in 0..<layerOp.rows {
            let values = x[row * width..<(row + 1) * width]
            switch layerOp.op {
            case .rmsnorm:
                rstd.append(Float(1 / (values.reduce(0) { $0 + $1 * $1 } / Double(width) + LayerOp.normEpsilon).squareRoot()))
            case .layernorm:
                let mu = values.reduce(0, +) / Double(width)
                let variance = values.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(width)
                mean.append(Float(mu))
                rstd.append(Float(1 / (variance + LayerOp.normEpsilon).squareRoot()))
            case .crossEntropy:
                let maximum = values.max() ?? 0
                logsumexp.append(Float(maximum + Foundation.log(values.reduce(0) { $0 + Foundation.exp($1 - maximum) })))
            case .gelu, .swiglu, .residual, .rotary:
                return ([], [], [])
            }
        }
        return (mean, rstd, logsumexp)
    }
}
