import Foundation

/// The fp64 reference of one attention backward pass, checked against the output `[dQ, dK, dV]`:
/// every element when the whole pass fits a budget of multiply-adds; otherwise dQ of an even
/// spread of query rows, and dK and dV of an even spread of key rows of the first and the last
/// key/value head (each needs every query row of its head group, so their cost grows as S²).
public struct AttentionGradientReference: Sendable {
    public let attention: AttentionCase
    public let method: String
    /// Per checked element: where it sits in the output, its exact value and its tolerance.
    private let checks: [(index: Int, value: Double, tolerance: Double)]

    /// A gradient element is a sum of terms p·(…)·x; its error scales with the sum of their
    /// magnitudes `M` (for dQ and dK: Σ p·(|dp| + |D| + Σ|dO·V| + Σ|dO·O|)·|x|·scale; for dV:
    /// Σ p·|dO|). The score errors carry `√D` roundings of `|q·k|`, the sums `√n` of their terms;
    /// a 16-bit O read back for D = rowsum(dO·O) carries its storage rounding.
    public static let toleranceModel =
        "(u_accumulate*(4*sqrt(D)*max|scale*q.k| + 8*sqrt(terms) + 16) + u_storage_of_O)*M + u_storage*max(|g|, smallest_normal_storage)"

    /// `budget` bounds the multiply-adds of the dQ rows (and of everything, to check it all);
    /// `keyBudget` those of the key rows' heads, each costing `group·S·3·S·D`.
    public init(_ inputs: AttentionInputs, budget: Int = 1 << 27, keyBudget: Int = 1 << 30) {
        attention = inputs.attention
        let shape = attention.shape
        let rowCost = max(1, 3 * shape.seq * shape.headDim)
        let group = shape.heads / shape.kvHeads
        let pairCost = group * shape.seq * rowCost
        let lastPair = shape.batch * shape.kvHeads - 1
        let full = (lastPair + 1) * pairCost <= budget
        let queryRows = full
            ? Array(0..<shape.queryRows)
            : GEMMReference.spread(count: max(2, budget / rowCost), over: shape.queryRows)
        let pairs = full
            ? Array(0...lastPair)
            : 2 * pairCost <= keyBudget ? Array(Set([0, lastPair])).sorted() : pairCost <= keyBudget ? [lastPair] : []
        let keyRows = full ? Array(0..<shape.seq) : GEMMReference.spread(count: min(shape.seq, 64), over: shape.seq)
        let checker = GradientChecker(inputs)
        checks = queryRows.flatMap(checker.queryChecks) + pairs.flatMap { checker.keyChecks(pair: $0, keys: keyRows) }
        method = full
            ? "full"
            : pairs.isEmpty
                ? "sampled: dQ of \(queryRows.count) query rows; dK and dV unchecked (each key row needs all \(shape.seq) query rows)"
                : "sampled: dQ of \(queryRows.count) query rows, dK and dV of \(keyRows.count) key rows of \(pairs.count) key/value heads"
    }

    /// Checks `[dQ, dK, dV]` (widened to Double) against the reference.
    public func verify(_ result: [Double]) -> Verification {
        precondition(result.count == attention.outputElements, "result has \(result.count) elements")
        var tally = ErrorTally()
        for check in checks { tally.add(result[check.index], reference: check.value, tolerance: check.tolerance) }
        return tally.verification(method: method, output: result, toleranceModel: Self.toleranceModel)
    }

    /// Bytes the reference holds beyond the inputs: one query row's values per key, and the checks.
    static func workingBytes(_ attention: AttentionCase) -> Double {
        Double(attention.shape.seq) * 48 + Double(attention.outputElements) * 24
    }
}

/// The exact gradients of one attention case, row by row.
private struct GradientChecker {
    let inputs: AttentionInputs
    let shape: AttentionShape
    let scale: Double
    let outputRounding: Double

    init(_ inputs: AttentionInputs) {
        self.inputs = inputs
        shape = inputs.attention.shape
        scale = 1 / Double(shape.headDim).squareRoot()
        outputRounding = inputs.attention.dtype == .fp32 ? 0 : inputs.attention.dtype.unitRoundoff
    }

    /// One query row's softmax and the values its gradients are made of.
    struct Row {
        var base: Int
        var kvBase: Int
        var keys: Int
        /// Per key: probability, dO·v, Σ|dO·v|.
        var p: [Double], dp: [Double], dpMagnitude: [Double]
        /// rowsum(dO·O) and Σ|dO·O|.
        var delta: Double, deltaMagnitude: Double
        var maxScoreMagnitude: Double
    }

    func row(_ index: Int) -> Row {
        let d = shape.headDim
        let position = index % shape.seq, head = (index / shape.seq) % shape.heads, batch = index / (shape.seq * shape.heads)
        let keys = shape.causal ? position + 1 : shape.seq
        let base = index * d
        let kvBase = AttentionInputs.rowOffset(shape, batch: batch, head: shape.kvHead(of: head), headCount: shape.kvHeads, position: 0)
        let (q, k, v, gradient) = (inputs.q, inputs.k, inputs.v, inputs.gradOutput)
        var scores = [Double](repeating: 0, count: keys), dp = scores, dpMagnitude = scores
        var maxScoreMagnitude = 0.0
        for j in 0..<keys {
            var dot = 0.0, magnitude = 0.0, gradDot = 0.0, gradMagnitude = 0.0
            for x in 0..<d {
                let product = q[base + x] * k[kvBase + j * d + x]
                dot += product
                magnitude += abs(product)
                let gradProduct = gradient[base + x] * v[kvBase + j * d + x]
                gradDot += gradProduct
                gradMagnitude += abs(gradProduct)
            }
            scores[j] = dot * scale
            dp[j] = gradDot
            dpMagnitude[j] = gradMagnitude
            maxScoreMagnitude = max(maxScoreMagnitude, magnitude * scale)
        }
        let maximum = scores.max()!
        var p = scores.map { exp($0 - maximum) }
        let sum = p.reduce(0, +)
        p = p.map { $0 / sum }
        var delta = 0.0, deltaMagnitude = 0.0
        for x in 0..<d {
            var output = 0.0
            for j in 0..<keys { output += p[j] * v[kvBase + j * d + x] }
            delta += gradient[base + x] * output
            deltaMagnitude += abs(gradient[base + x] * output)
        }
        return Row(
            base: base, kvBase: kvBase, keys: keys, p: p, dp: dp, dpMagnitude: dpMagnitude, delta: delta, deltaMagnitude: deltaMagnitude,
            maxScoreMagnitude: maxScoreMagnitude)
    }

    /// The error factor of a sum of `terms` terms whose scores reach `maxScoreMagnitude`.
    func factor(maxScoreMagnitude: Double, terms: Int) -> Double {
        inputs.attention.dtype.accumulation.unitRoundoff
            * (4 * Double(shape.headDim).squareRoot() * maxScoreMagnitude + 8 * Double(terms).squareRoot() + 16)
    }

    /// |dS| of one term, the magnitude its errors scale with.
    func scoreGradientMagnitude(_ row: Row, _ j: Int) -> Double {
        row.p[j] * (abs(row.dp[j]) + abs(row.delta) + row.dpMagnitude[j] + row.deltaMagnitude)
    }

    func check(_ index: Int, _ value: Double, magnitude: Double, factor: Double) -> (index: Int, value: Double, tolerance: Double) {
        (index, value, (factor + outputRounding) * magnitude + inputs.attention.dtype.roundingBound(value))
    }

    /// dQ of query row `index`: scale · Σ_j p·(dp − D)·k_j.
    func queryChecks(_ index: Int) -> [(index: Int, value: Double, tolerance: Double)] {
        let row = row(index)
        let d = shape.headDim
        var gradient = [Double](repeating: 0, count: d), magnitude = gradient
        for j in 0..<row.keys {
            let ds = row.p[j] * (row.dp[j] - row.delta) * scale
            let dsMagnitude = scoreGradientMagnitude(row, j) * scale
            for x in 0..<d {
                let key = inputs.k[row.kvBase + j * d + x]
                gradient[x] += ds * key
                magnitude[x] += dsMagnitude * abs(key)
            }
        }
        let factor = factor(maxScoreMagnitude: row.maxScoreMagnitude, terms: row.keys)
        return (0..<d).map { check(row.base + $0, gradient[$0], magnitude: magnitude[$0], factor: factor) }
    }

    /// dK and dV of the key rows `keys` of one key/value head (`pair`: batch · kvHeads + kvHead),
    /// summed over the query rows of every head that reads it.
    func keyChecks(pair: Int, keys: [Int]) -> [(index: Int, value: Double, tolerance: Double)] {
        let d = shape.headDim
        let batch = pair / shape.kvHeads, kvHead = pair % shape.kvHeads
        let group = shape.heads / shape.kvHeads
        var dK = [[Double]](repeating: [Double](repeating: 0, count: d), count: keys.count)
        var dV = dK, kMagnitude = dK, vMagnitude = dK
        var maxScoreMagnitude = 0.0
        for head in kvHead * group..<(kvHead + 1) * group {
            for position in 0..<shape.seq {
                let row = row((batch * shape.heads + head) * shape.seq + position)
                maxScoreMagnitude = max(maxScoreMagnitude, row.maxScoreMagnitude)
                for (slot, j) in keys.enumerated() where j < row.keys {
                    let ds = row.p[j] * (row.dp[j] - row.delta) * scale
                    let dsMagnitude = scoreGradientMagnitude(row, j) * scale
                    for x in 0..<d {
                        let query = inputs.q[row.base + x], gradient = inputs.gradOutput[row.base + x]
                        dK[slot][x] += ds * query
                        kMagnitude[slot][x] += dsMagnitude * abs(query)
                        dV[slot][x] += row.p[j] * gradient
                        vMagnitude[slot][x] += row.p[j] * abs(gradient)
                    }
                }
            }
        }
        let factor = factor(maxScoreMagnitude: maxScoreMagnitude, terms: shape.seq * (group + 1))
        let kvBase = AttentionInputs.rowOffset(shape, batch: batch, head: kvHead, headCount: shape.kvHeads, position: 0)
        return keys.enumerated().flatMap { slot, j in
            (0..<d).flatMap { x in
                [
                    check(shape.queryElements + kvBase + j * d + x, dK[slot][x], magnitude: kMagnitude[slot][x], factor: factor),
                    check(shape.queryElements + shape.keyElements + kvBase + j * d + x, dV[slot][x], magnitude: vMagnitude[slot][x], factor: factor),
                ]
            }
        }
    }
}
