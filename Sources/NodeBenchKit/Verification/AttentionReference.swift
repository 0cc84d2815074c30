import Foundation

/// The fp64 reference of one attention case: every query row when that fits a budget of
/// multiply-adds, otherwise an even spread of rows (always the first and the last).
public struct AttentionReference: Sendable {
    public let attention: AttentionCase
    public let method: String
    /// Checked query rows (flattened batch, head, position), their outputs and logsumexps.
    let rows: [Int]
    let outputs: [[Double]]
    let logsumexps: [Double]
    /// Per checked element, the scale of its rounding error: `Σ p·|v| / Σ p`.
    private let weights: [[Double]]
    /// Per checked row, the factor the score errors carry: `4·√D·max|s| + 4·√keys + 16`.
    private let rowFactors: [Double]

    /// An error in score `s` changes `exp(s)` by the same relative amount; the softmax weights
    /// move `O` by at most twice that times `Σ p·|v| / Σ p`. Scores carry `√D` rounding errors of
    /// size `u·|q·k|`, the PV sum `√keys` of size `u·p·|v|`; `exp` and the normalization a few more.
    public static let toleranceModel =
        "u_accumulate*(4*sqrt(D)*max|scale*q.k| + 4*sqrt(keys) + 16)*sum(p*|v|)/sum(p) + u_storage*max(|o|, smallest_normal_storage)"

    public init(_ inputs: AttentionInputs, budget: Int = 1 << 27) {
        attention = inputs.attention
        let shape = attention.shape
        let rowCost = max(1, 2 * shape.seq * shape.headDim)
        let rows = shape.queryRows * rowCost <= budget
            ? Array(0..<shape.queryRows)
            : GEMMReference.spread(count: max(2, budget / rowCost), over: shape.queryRows)
        method = rows.count == shape.queryRows ? "full" : "sampled"
        self.rows = rows
        var outputs: [[Double]] = [], logsumexps: [Double] = [], weights: [[Double]] = [], rowFactors: [Double] = []
        for row in rows {
            let exact = AttentionReference.computeRow(row, inputs)
            outputs.append(exact.output)
            logsumexps.append(exact.logsumexp)
            weights.append(exact.weights)
            rowFactors.append(4 * Double(shape.headDim).squareRoot() * exact.maxScoreMagnitude
                + 4 * Double(exact.keys).squareRoot() + 16)
        }
        self.outputs = outputs
        self.logsumexps = logsumexps
        self.weights = weights
        self.rowFactors = rowFactors
    }

    /// Checks O (`[batch][head][position][dim]`, widened to Double) against the reference.
    public func verify(_ result: [Double]) -> Verification {
        let shape = attention.shape
        precondition(result.count == shape.queryElements, "result has \(result.count) elements")
        let accumulation = attention.dtype.accumulation.unitRoundoff
        var tally = ErrorTally()
        for (position, row) in rows.enumerated() {
            for d in 0..<shape.headDim {
                let reference = outputs[position][d]
                tally.add(
                    result[row * shape.headDim + d], reference: reference,
                    tolerance: accumulation * rowFactors[position] * weights[position][d] + attention.dtype.roundingBound(reference))
            }
        }
        return tally.verification(method: method, output: result, toleranceModel: AttentionReference.toleranceModel)
    }

    /// The largest difference between `logsumexp` (one per query row) and the reference's, on the
    /// checked rows.
    public func logsumexpError(_ logsumexp: [Double]) -> Double {
        zip(rows, logsumexps).map { abs(logsumexp[$0] - $1) }.max() ?? 0
    }

    /// One query row in fp64: output, logsumexp, error weights, and the largest score magnitude.
    private static func computeRow(_ row: Int, _ inputs: AttentionInputs) -> (
        output: [Double], logsumexp: Double, weights: [Double], maxScoreMagnitude: Double, keys: Int
    ) {
        let shape = inputs.attention.shape
        let d = shape.headDim
        let position = row % shape.seq, head = (row / shape.seq) % shape.heads, batch = row / (shape.seq * shape.heads)
        let keys = shape.causal ? position + 1 : shape.seq
        let scale = 1 / Double(d).squareRoot()
        let qBase = row * d
        let kvBase = AttentionInputs.rowOffset(shape, batch: batch, head: shape.kvHead(of: head), headCount: shape.kvHeads, position: 0)
        var scores = [Double](repeating: 0, count: keys)
        var maxScoreMagnitude = 0.0
        for j in 0..<keys {
            var dot = 0.0, magnitude = 0.0
            for x in 0..<d {
                let product = inputs.q[qBase + x] * inputs.k[kvBase + j * d + x]
                dot += product
                magnitude += abs(product)
            }
            scores[j] = dot * scale
            maxScoreMagnitude = max(maxScoreMagnitude, magnitude * scale)
        }
        let maximum = scores.max()!
        let p = scores.map { exp($0 - maximum) }
        let sum = p.reduce(0, +)
        var output = [Double](repeating: 0, count: d), weights = [Double](repeating: 0, count: d)
        for j in 0..<keys {
            for x in 0..<d {
                let value = inputs.v[kvBase + j * d + x]
                output[x] += p[j] * value
                weights[x] += p[j] * abs(value)
            }
        }
        return (output.map { $0 / sum }, maximum + log(sum), weights.map { $0 / sum }, maxScoreMagnitude, keys)
    }

    /// Bytes the reference holds beyond the inputs.
    static func workingBytes(_ attention: AttentionCase) -> Double {
        Double(attention.shape.seq) * 16
    }
}
