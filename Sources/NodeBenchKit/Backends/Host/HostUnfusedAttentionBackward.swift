import BLASKit
import Foundation
import HostKernels

/// The unfused attention backward on the host, as a framework's math path runs it: the forward's
/// probabilities P are kept whole (B·H·S·S fp32, as autograd keeps them), and per key/value head
/// the query heads of its group form one matrix of G·S rows, so each step is one multithreaded
/// sgemm: dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P·(dP - rowsum(P·dP))·scale, dQ = dS·K, dK = dSᵀ·Q.
final class HostUnfusedAttentionBackward: PreparedKernel {
    let notes: [String]
    private let shape: AttentionShape
    private let dtype: DType
    private let stored: (q: StoredElements, k: StoredElements, v: StoredElements, gradOutput: StoredElements)
    private let probabilities: [Float]
    private var gradients: [Float]
    private var storedGradients: [UInt16] = []
    /// Its four products (whole matrices, masked or not) and softmax's backward.
    private let stageTimes: StageTimes

    /// Runs the naive forward once (untimed) for the logsumexps, and recomputes and keeps P.
    init(_ inputs: AttentionInputs) throws {
        shape = inputs.attention.shape
        dtype = inputs.attention.dtype
        let forward = HostPreparedAttention(inputs, fused: false)
        _ = try forward.execute()
        stored = (
            StoredElements(inputs.q, as: dtype), StoredElements(inputs.k, as: dtype), StoredElements(inputs.v, as: dtype),
            StoredElements(inputs.gradOutput, as: dtype)
        )
        probabilities = Self.probabilities(shape, q: stored.q.floats, k: stored.k.floats, logsumexp: forward.logsumexp)
        gradients = [Float](repeating: 0, count: shape.queryElements + 2 * shape.keyElements)
        let product = shape.unmaskedProductFlops
        stageTimes = StageTimes([
            .init(name: "dV = Pᵀ·dO", flops: product), .init(name: "dP = dO·Vᵀ", flops: product), .init(name: "softmax backward", flops: nil),
            .init(name: "dQ = dS·K", flops: product), .init(name: "dK = dSᵀ·Q", flops: product),
        ])
        notes = [
            "P from one untimed naive forward, kept whole as autograd keeps it",
            "unfused backward: per key/value head, its group's G·S query rows as one matrix: dV = Pᵀ·dO, dP = dO·Vᵀ, "
                + "dS = P·(dP - rowsum(P·dP))·scale (C kernel), dQ = dS·K, dK = dSᵀ·Q, each one cblas_sgemm on every core",
        ] + (dtype == .fp32 ? [] : ["\(dtype.rawValue) widened to fp32 before and dQ, dK, dV rounded to \(dtype.rawValue) after; conversions timed"])
    }

    /// P of every head: scale·Q·Kᵀ, then exp(score - logsumexp), zero where masked.
    private static func probabilities(_ shape: AttentionShape, q: [Float], k: [Float], logsumexp: [Float]) -> [Float] {
        let (s, d) = (shape.seq, shape.headDim)
        var probabilities = [Float](repeating: 0, count: shape.batch * shape.heads * s * s)
        let valid = (0..<s).map { Int32(shape.causal ? $0 + 1 : s) }
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                logsumexp.withUnsafeBufferPointer { logsumexp in
                    probabilities.withUnsafeMutableBufferPointer { probabilities in
                        for head in 0..<(shape.batch * shape.heads) {
                            let (qOffset, kvOffset) = HostPreparedAttention.heads(head, shape)
                            let block = probabilities.rows(head * s * s, s * s)
                            BLAS.gemm(
                                BLASKit.GEMMShape(m: s, n: s, k: d, transB: .transpose), alpha: 1 / Float(d).squareRoot(),
                                a: q.rows(qOffset, s * d), b: k.rows(kvOffset, s * d), c: block)
                            SoftmaxKernels.probabilities(block, rows: s, cols: s, valid: valid, lse: logsumexp.rows(head * s, s))
                        }
                    }
                }
            }
        }
        return probabilities
    }

    func execute() throws -> SampleTime {
        let ((), seconds) = MonotonicClock.time {
            run(q: stored.q.floats, k: stored.k.floats, v: stored.v.floats, gradOutput: stored.gradOutput.floats)
            if dtype != .fp32 { storedGradients = StoredElements.encode(gradients, dtype) }
        }
        return SampleTime(kernelSeconds: seconds, wallSeconds: seconds)
    }

    var stages: [CaseResult.Stage] { stageTimes.summaries }

    func result() throws -> [Double] {
        dtype == .fp32 ? gradients.map(Double.init) : StoredElements.decode(storedGradients, dtype).map(Double.init)
    }

    private func run(q: [Float], k: [Float], v: [Float], gradOutput: [Float]) {
        let (s, d) = (shape.seq, shape.headDim)
        let rows = shape.heads / shape.kvHeads * s
        let scale = 1 / Float(d).squareRoot()
        var scoreGradient = [Float](repeating: 0, count: rows * s)
        var clock = HostStageClock(stageCount: stageTimes.stages.count)  // indices in stageTimes' order
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    gradOutput.withUnsafeBufferPointer { gradOutput in
                        probabilities.withUnsafeBufferPointer { probabilities in
                            gradients.withUnsafeMutableBufferPointer { gradients in
                                scoreGradient.withUnsafeMutableBufferPointer { dS in
                                    let dQ = gradients.rows(0, shape.queryElements)
                                    let dK = gradients.rows(shape.queryElements, shape.keyElements)
                                    let dV = gradients.rows(shape.queryElements + shape.keyElements, shape.keyElements)
                                    for pair in 0..<(shape.batch * shape.kvHeads) {
                                        let group = pair * rows  // the group's first query row; its P rows start at group * s
                                        let queries = q.rows(group * d, rows * d), gradOut = gradOutput.rows(group * d, rows * d)
                                        let p = probabilities.rows(group * s, rows * s)
                                        let keys = k.rows(pair * s * d, s * d), values = v.rows(pair * s * d, s * d)
                                        clock.time(0) {
                                            BLAS.gemm(BLASKit.GEMMShape(m: s, n: d, k: rows, transA: .transpose), a: p, b: gradOut, c: dV.rows(pair * s * d, s * d))
                                        }
                                        clock.time(1) { BLAS.gemm(BLASKit.GEMMShape(m: rows, n: s, k: d, transB: .transpose), a: gradOut, b: values, c: dS) }
                                        clock.time(2) {
                                            let block = ScoreGradientBlock(gradient: dS, probabilities: p)
                                            forEachRowShare(rows) { range in
                                                let (start, count) = (range.lowerBound * s, range.count * s)
                                                SoftmaxKernels.backward(
                                                    block.gradient.rows(start, count), probabilities: block.probabilities.rows(start, count), rows: range.count,
                                                    cols: s, scale: scale)
                                            }
                                        }
                                        clock.time(3) {
                                            BLAS.gemm(BLASKit.GEMMShape(m: rows, n: d, k: s), a: UnsafeBufferPointer(dS), b: keys, c: dQ.rows(group * d, rows * d))
                                        }
                                        clock.time(4) {
                                            BLAS.gemm(
                                                BLASKit.GEMMShape(m: s, n: d, k: rows, transA: .transpose), a: UnsafeBufferPointer(dS), b: queries,
                                                c: dK.rows(pair * s * d, s * d))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        stageTimes.record(stageSeconds: clock.seconds)
    }

    /// Each share of rows touches only its own rows of dS.
    private struct ScoreGradientBlock: @unchecked Sendable {
        let gradient: UnsafeMutableBufferPointer<Float>, probabilities: UnsafeBufferPointer<Float>
    }
}
