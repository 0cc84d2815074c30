import Foundation

/// The fp64 reference of one layer-op case, every output element with the size of the rounding
/// error an fp32 computation of it may carry: its terms' magnitudes times a factor for the sums it
/// took (`4·√n + 32` for a sum over n values, 32 for an element on its own).
public struct LayerOpReference: Sendable {
    public let layerOp: LayerOpCase
    let values: [Double]
    /// Per element, `u_fp32 x factor x magnitude of its terms`.
    private let errorScales: [Double]
    /// Outputs stored as fp32 whatever the case's type: cross-entropy's per-row losses.
    private let storedAs: DType

    public static let toleranceModel =
        "u_fp32*(4*sqrt(n)+32)*sum|terms| for an output summed over n values (32 when none) + u_storage*max(|ref|, smallest_normal)"

    public init(_ inputs: LayerOpInputs) {
        layerOp = inputs.layerOp
        var output = Output(rowFactor: 4 * Double(layerOp.width).squareRoot() + 32, columnFactor: 4 * Double(layerOp.rows).squareRoot() + 32)
        switch (layerOp.op, layerOp.pass) {
        case (.rmsnorm, .forward): LayerOpReference.rmsnormForward(inputs, &output)
        case (.rmsnorm, .backward): LayerOpReference.rmsnormBackward(inputs, &output)
        case (.layernorm, .forward): LayerOpReference.layernormForward(inputs, &output)
        case (.layernorm, .backward): LayerOpReference.layernormBackward(inputs, &output)
        case (.gelu, let pass): LayerOpReference.gelu(inputs, pass, &output)
        case (.swiglu, let pass): LayerOpReference.swiglu(inputs, pass, &output)
        case (.residual, _):
            for (a, b) in zip(inputs.x, inputs.other) { output.element(a + b, magnitude: abs(a) + abs(b)) }
        case (.rotary, let pass): LayerOpReference.rotary(inputs, direction: pass == .forward ? 1 : -1, &output)
        case (.crossEntropy, .forward): LayerOpReference.crossEntropyForward(inputs, &output)
        case (.crossEntropy, .backward): LayerOpReference.crossEntropyBackward(inputs, &output)
        }
        values = output.values
        errorScales = output.errorScales
        storedAs = layerOp.op == .crossEntropy && layerOp.pass == .forward ? .fp32 : layerOp.dtype
    }

    /// Checks every element of the result (the outputs one after another, widened to Double).
    public func verify(_ result: [Double]) -> Verification {
        precondition(result.count == values.count, "result has \(result.count) elements, the reference \(values.count)")
        var tally = ErrorTally()
        for index in values.indices {
            let reference = values[index]
            tally.add(result[index], reference: reference, tolerance: errorScales[index] + storedAs.roundingBound(reference))
        }
        return tally.verification(method: "full", output: result, toleranceModel: LayerOpReference.toleranceModel)
    }

    /// Fp64 host bytes the reference holds beside the case's inputs.
    static func workingBytes(_ layerOp: LayerOpCase) -> Double { Double(layerOp.outputElements) * 16 }

    /// Output elements as they are computed, each with its error scale.
    private struct Output {
        let rowFactor: Double, columnFactor: Double
        var values: [Double] = [], errorScales: [Double] = []

        /// An element computed on its own, or after a sum over a row (`afterRowSum`).
        mutating func element(_ value: Double, magnitude: Double, afterRowSum: Bool = false) {
            values.append(value)
            errorScales.append(DType.fp32.unitRoundoff * (afterRowSum ? rowFactor : 32) * magnitude)
        }

        /// A weight's gradient: a sum over rows.
        mutating func columnSum(_ value: Double, magnitude: Double) {
            values.append(value)
            errorScales.append(DType.fp32.unitRoundoff * columnFactor * magnitude)
        }
    }

    private static func row(_ values: [Double], _ row: Int, _ width: Int) -> ArraySlice<Double> {
        values[row * width..<(row + 1) * width]
    }

    private static func rmsnormForward(_ inputs: LayerOpInputs, _ output: inout Output) {
        let width = inputs.layerOp.width
        for r in 0..<inputs.layerOp.rows {
            let x = row(inputs.x, r, width)
            let rstd = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(width) + LayerOp.normEpsilon).squareRoot()
            for (j, value) in zip(0..., x) {
                let y = value * rstd * inputs.weight[j]
                output.element(y, magnitude: abs(y), afterRowSum: true)
            }
        }
    }

    private static func rmsnormBackward(_ inputs: LayerOpInputs, _ output: inout Output) {
        let (rows, width) = (inputs.layerOp.rows, inputs.layerOp.width)
        var weightGradient = [Double](repeating: 0, count: width), weightMagnitude = weightGradient
        for r in 0..<rows {
            let rstd = Double(inputs.rstd[r]), base = r * width
            var dot = 0.0, dotMagnitude = 0.0
            for j in 0..<width {
                let term = inputs.gradOutput[base + j] * inputs.weight[j] * inputs.x[base + j] * rstd
                dot += term
                dotMagnitude += abs(term)
            }
            // The projection's error follows the sum's terms, not its (possibly cancelled) value.
            let projection = dot / Double(width), projectionMagnitude = dotMagnitude / Double(width)
            for j in 0..<width {
                let xh = inputs.x[base + j] * rstd, dy = inputs.gradOutput[base + j], g = dy * inputs.weight[j]
                output.element(rstd * (g - xh * projection), magnitude: rstd * (abs(g) + abs(xh) * projectionMagnitude), afterRowSum: true)
                weightGradient[j] += dy * xh
                weightMagnitude[j] += abs(dy * xh)
            }
        }
        for j in 0..<width { output.columnSum(weightGradient[j], magnitude: weightMagnitude[j]) }
    }

    private static func layernormForward(_ inputs: LayerOpInputs, _ output: inout Output) {
        let width = inputs.layerOp.width
        for r in 0..<inputs.layerOp.rows {
            let x = row(inputs.x, r, width)
            let mean = x.reduce(0, +) / Double(width), meanMagnitude = x.reduce(0) { $0 + abs($1) } / Double(width)
            let rstd = 1 / (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width) + LayerOp.normEpsilon).squareRoot()
            for (j, value) in zip(0..., x) {
                let scaled = rstd * inputs.weight[j]
                output.element(
                    (value - mean) * scaled + inputs.bias[j], magnitude: (abs(value) + meanMagnitude) * abs(scaled) + abs(inputs.bias[j]),
                    afterRowSum: true)
            }
        }
    }

    private static func layernormBackward(_ inputs: LayerOpInputs, _ output: inout Output) {
        let (rows, width) = (inputs.layerOp.rows, inputs.layerOp.width)
        var weightGradient = [Double](repeating: 0, count: width), weightMagnitude = weightGradient
        var biasGradient = weightGradient, biasMagnitude = weightGradient
        for r in 0..<rows {
            let mean = Double(inputs.mean[r]), rstd = Double(inputs.rstd[r]), base = r * width
            var sum = 0.0, dot = 0.0, sumMagnitude = 0.0, dotMagnitude = 0.0
            for j in 0..<width {
                let g = inputs.gradOutput[base + j] * inputs.weight[j], term = g * (inputs.x[base + j] - mean) * rstd
                sum += g
                dot += term
                sumMagnitude += abs(g)
                dotMagnitude += abs(g) * (abs(inputs.x[base + j]) + abs(mean)) * rstd
            }
            let meanG = sum / Double(width), projection = dot / Double(width)
            for j in 0..<width {
                let x = inputs.x[base + j], xh = (x - mean) * rstd, dy = inputs.gradOutput[base + j], g = dy * inputs.weight[j]
                let xhMagnitude = (abs(x) + abs(mean)) * rstd
                output.element(
                    rstd * (g - meanG - xh * projection),
                    magnitude: rstd * (abs(g) + sumMagnitude / Double(width) + xhMagnitude * dotMagnitude / Double(width)), afterRowSum: true)
                weightGradient[j] += dy * xh
                weightMagnitude[j] += abs(dy) * xhMagnitude
                biasGradient[j] += dy
                biasMagnitude[j] += abs(dy)
            }
        }
        for j in 0..<width { output.columnSum(weightGradient[j], magnitude: weightMagnitude[j]) }
        for j in 0..<width { output.columnSum(biasGradient[j], magnitude: biasMagnitude[j]) }
    }

    private static func gelu(_ inputs: LayerOpInputs, _ pass: Pass, _ output: inout Output) {
        let c = (2 / Double.pi).squareRoot(), a = 0.044715
        for (index, x) in inputs.x.enumerated() {
            let argument = c * (x + a * x * x * x), th = tanh(argument)
            // tanh's relative error and its argument's carry into y in proportion to |x|·(1 + |argument|).
            let scale = (1 + abs(x)) * (1 + abs(argument))
            if pass == .forward {
                output.element(0.5 * x * (1 + th), magnitude: scale)
            } else {
                let dy = inputs.gradOutput[index]
                let slope = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + 3 * a * x * x)
                output.element(dy * slope, magnitude: 2 * abs(dy) * scale * (1 + 3 * a * x * x))
            }
        }
    }

    private static func swiglu(_ inputs: LayerOpInputs, _ pass: Pass, _ output: inout Output) {
        let sigmoid = { (g: Double) in 1 / (1 + exp(-g)) }
        if pass == .forward {
            for (g, u) in zip(inputs.x, inputs.other) { output.element(g * sigmoid(g) * u, magnitude: abs(g * u) * (1 + abs(g))) }
            return
        }
        var upGradients: [(Double, Double)] = []
        for index in inputs.x.indices {
            let g = inputs.x[index], u = inputs.other[index], dy = inputs.gradOutput[index], s = sigmoid(g)
            output.element(dy * u * s * (1 + g * (1 - s)), magnitude: abs(dy * u) * (1 + abs(g)) * (1 + abs(g)))
            upGradients.append((dy * g * s, abs(dy * g) * (1 + abs(g))))
        }
        for (value, magnitude) in upGradients { output.element(value, magnitude: magnitude) }
    }

    private static func rotary(_ inputs: LayerOpInputs, direction: Double, _ output: inout Output) {
        let (width, headDim) = (inputs.layerOp.width, inputs.layerOp.headDim ?? 2)
        let half = headDim / 2
        // The backward rotates the output's gradient back.
        let source = direction > 0 ? inputs.x : inputs.gradOutput
        var rotated = [Double](repeating: 0, count: source.count), magnitudes = rotated
        for r in 0..<inputs.layerOp.rows {
            for head in stride(from: r * width, to: (r + 1) * width, by: headDim) {
                for i in 0..<half {
                    let c = Double(inputs.cos[r * half + i]), s = direction * Double(inputs.sin[r * half + i])
                    let low = source[head + i], high = source[head + half + i]
                    rotated[head + i] = low * c - high * s
                    rotated[head + half + i] = high * c + low * s
                    magnitudes[head + i] = abs(low * c) + abs(high * s)
                    magnitudes[head + half + i] = abs(high * c) + abs(low * s)
                }
            }
        }
        for (value, magnitude) in zip(rotated, magnitudes) { output.element(value, magnitude: magnitude) }
    }

    private static func crossEntropyForward(_ inputs: LayerOpInputs, _ output: inout Output) {
        let width = inputs.layerOp.width
        for r in 0..<inputs.layerOp.rows {
            let logits = row(inputs.x, r, width)
            let maximum = logits.max() ?? 0
            let logsumexp = maximum + log(logits.reduce(0) { $0 + exp($1 - maximum) })
            let target = inputs.x[r * width + Int(inputs.targets[r])]
            output.element(logsumexp - target, magnitude: abs(logsumexp) + abs(target) + 1, afterRowSum: true)
        }
    }

    private static func crossEntropyBackward(_ inputs: LayerOpInputs, _ output: inout Output) {
        let (rows, width) = (inputs.layerOp.rows, inputs.layerOp.width)
        let scale = 1 / Double(rows)
        for r in 0..<rows {
            let logsumexp = Double(inputs.logsumexp[r]), target = Int(inputs.targets[r])
            for j in 0..<width {
                let x = inputs.x[r * width + j], p = exp(x - logsumexp), hit = j == target ? 1.0 : 0
                output.element((p - hit) * scale, magnitude: scale * (p * (1 + abs(x) + abs(logsumexp)) + hit))
            }
        }
    }
}
