import BLASKit
import Foundation
import HostKernels

/// The attention backward pass on the host, FlashAttention-2's way: the probabilities are
/// recomputed block by block from Q, K and the forward's logsumexps, never held whole. One sweep
/// over the keys gives all three gradients: a task takes one key/value head's run of key blocks
/// (their dK and dV rows its own, summed over the head group's query blocks) and adds each block's
/// dS·K into dQ rows of its own, the first run's in dQ itself, the others' in partials summed
/// after, so no two tasks write the same rows and no atomics are needed. So the scores and dP are
/// computed once: five products, not the seven of a second sweep over the queries for dQ (2-core
/// Zen 4, B1 H8 S=2048 D=64: 115-118 -> 166-168 GFLOP/s, ahead of the unfused backward). Each block
/// is single-threaded sgemms with the elementwise steps in C between them; tasks run side by side.
final class HostPreparedAttentionBackward: PreparedKernel {
    /// Query rows and keys per block: a block's probabilities and their gradient (2 x 256 x 256
    /// floats) and its Q, K, V and dO tiles stay in a core's L2 cache.
    static let block = 256

    let notes: [String]
    private let shape: AttentionShape
    private let dtype: DType
    /// The backward's inputs as stored: Q, K, V, dO, and the forward's O; the forward's logsumexps.
    private let stored: (q: StoredElements, k: StoredElements, v: StoredElements, gradOutput: StoredElements, output: StoredElements)
    private let logsumexp: [Float]
    /// dQ, dK and dV in fp32 (three properties, so the tasks may write all three at once), and
    /// as stored when the storage is 16-bit.
    private var dQ: [Float], dK: [Float], dV: [Float]
    /// Each key/value head's key blocks split into this many runs, one task each.
    private let keyRuns: Int
    /// dQ rows of every run but each head's first, one head group's queries a run.
    private var dQPartials: [Float]
    private var storedGradients: [UInt16] = []

    /// Runs the fused forward once (untimed) for the O and logsumexps the backward takes.
    init(_ inputs: AttentionInputs) throws {
        shape = inputs.attention.shape
        dtype = inputs.attention.dtype
        let forward = HostPreparedAttention(inputs, fused: true)
        _ = try forward.execute()
        logsumexp = forward.logsumexp
        stored = (
            StoredElements(inputs.q, as: dtype), StoredElements(inputs.k, as: dtype), StoredElements(inputs.v, as: dtype),
            StoredElements(inputs.gradOutput, as: dtype), StoredElements(try forward.result(), as: dtype)
        )
        dQ = [Float](repeating: 0, count: shape.queryElements)
        dK = [Float](repeating: 0, count: shape.keyElements)
        dV = dK
        keyRuns = Self.keyRuns(shape, cores: ProcessInfo.processInfo.activeProcessorCount)
        dQPartials = [Float](repeating: 0, count: (keyRuns - 1) * shape.queryElements)
        notes = [
            "fused backward: one sweep of \(Self.block)-key blocks over \(Self.block)-row query blocks giving dQ, dK and dV, "
                + "\(keyRuns) run(s) of key blocks per key/value head in parallel; probabilities recomputed from the forward's "
                + "logsumexps through single-threaded cblas_sgemm; no S x S matrix",
            "O and the logsumexps from one untimed fused forward; D = rowsum(dO * O) computed in the timed pass",
        ] + (dtype == .fp32 ? [] : ["\(dtype.rawValue) widened to fp32 before and dQ, dK, dV rounded to \(dtype.rawValue) after; conversions timed"])
    }

    func execute() throws -> SampleTime {
        let ((), seconds) = MonotonicClock.time {
            let operands = Operands(
                q: stored.q.floats, k: stored.k.floats, v: stored.v.floats, gradOutput: stored.gradOutput.floats, output: stored.output.floats)
            run(operands)
            if dtype != .fp32 {
                storedGradients = StoredElements.encode(dQ + dK + dV, dtype)
            }
        }
        return SampleTime(kernelSeconds: seconds, wallSeconds: seconds)
    }

    func result() throws -> [Double] {
        dtype == .fp32
            ? (dQ + dK + dV).map(Double.init)
            : StoredElements.decode(storedGradients, dtype).map(Double.init)
    }

    private struct Operands {
        let q: [Float], k: [Float], v: [Float], gradOutput: [Float], output: [Float]
    }

    /// Pointers the parallel tasks share; each task writes only its own rows.
    private struct Buffers: @unchecked Sendable {
        let q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>
        let gradOutput: UnsafeBufferPointer<Float>, logsumexp: UnsafeBufferPointer<Float>, delta: UnsafeBufferPointer<Float>
        let dQ: UnsafeMutableBufferPointer<Float>, dK: UnsafeMutableBufferPointer<Float>, dV: UnsafeMutableBufferPointer<Float>
        /// `keyRuns - 1` dQ-shaped arrays, one after another.
        let dQPartials: UnsafeMutableBufferPointer<Float>

        /// Where run `run` of the key blocks adds its dQ rows.
        func dQ(run: Int) -> UnsafeMutableBufferPointer<Float> {
            run == 0 ? dQ : dQPartials.rows((run - 1) * dQ.count, dQ.count)
        }
    }

    /// Runs of key blocks per key/value head: about four tasks per core, at most eight runs (each
    /// past the first holds a dQ-sized partial) and at most one per key block.
    static func keyRuns(_ shape: AttentionShape, cores: Int) -> Int {
        let pairs = shape.batch * shape.kvHeads
        return max(1, min(8, keyBlocks(shape), (4 * max(1, cores) + pairs - 1) / pairs))
    }

    private static func keyBlocks(_ shape: AttentionShape) -> Int { (shape.seq + block - 1) / block }

    private func run(_ operands: Operands) {
        let d = shape.headDim
        // D = rowsum(dO * O), one per query row.
        let delta = (0..<shape.queryRows).map { row in
            (0..<d).reduce(Float(0)) { $0 + operands.gradOutput[row * d + $1] * operands.output[row * d + $1] }
        }
        let (shape, keyRuns) = (shape, keyRuns)
        BLAS.withThreads(1) {
            operands.q.withUnsafeBufferPointer { q in
                operands.k.withUnsafeBufferPointer { k in
                    operands.v.withUnsafeBufferPointer { v in
                        operands.gradOutput.withUnsafeBufferPointer { gradOutput in
                            logsumexp.withUnsafeBufferPointer { logsumexp in
                                delta.withUnsafeBufferPointer { delta in
                                    self.dQ.withUnsafeMutableBufferPointer { dQ in
                                        self.dK.withUnsafeMutableBufferPointer { dK in
                                            self.dV.withUnsafeMutableBufferPointer { dV in
                                                self.dQPartials.withUnsafeMutableBufferPointer { dQPartials in
                                                    let buffers = Buffers(
                                                        q: q, k: k, v: v, gradOutput: gradOutput, logsumexp: logsumexp, delta: delta, dQ: dQ,
                                                        dK: dK, dV: dV, dQPartials: dQPartials)
                                                    DispatchQueue.concurrentPerform(iterations: shape.batch * shape.kvHeads * keyRuns) { task in
                                                        Self.keyRun(task / keyRuns, run: task % keyRuns, of: keyRuns, shape, buffers)
                                                    }
                                                    Self.addPartials(keyRuns, buffers)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// dQ += each partial, in pieces side by side.
    private static func addPartials(_ keyRuns: Int, _ buffers: Buffers) {
        guard keyRuns > 1 else { return }
        let count = buffers.dQ.count, pieces = 64, piece = (count + pieces - 1) / pieces
        DispatchQueue.concurrentPerform(iterations: pieces) { index in
            let range = min(count, index * piece)..<min(count, (index + 1) * piece)
            for run in 1..<keyRuns {
                let partial = buffers.dQ(run: run)
                for i in range { buffers.dQ[i] += partial[i] }
            }
        }
    }

    /// One query block against one key block: P from the logsumexps into `probabilities`, and
    /// dS = P * (dO·Vᵀ - D) * scale into `scoreGradient`.
    private static func scores(
        _ shape: AttentionShape, _ buffers: Buffers, head: Int, row0: Int, rows: Int, key0: Int, keys: Int,
        probabilities: UnsafeMutableBufferPointer<Float>, scoreGradient: UnsafeMutableBufferPointer<Float>
    ) {
        let d = shape.headDim
        let scale = 1 / Float(d).squareRoot()
        let (qOffset, kvOffset) = HostPreparedAttention.heads(head, shape)
        let rowBase = head * shape.seq + row0
        let queries = buffers.q.rows(qOffset + row0 * d, rows * d), gradOutput = buffers.gradOutput.rows(qOffset + row0 * d, rows * d)
        let valid = (0..<rows).map { Int32(shape.causal ? max(0, min(keys, row0 + $0 - key0 + 1)) : keys) }
        BLAS.gemm(
            BLASKit.GEMMShape(m: rows, n: keys, k: d, transB: .transpose), alpha: scale, a: queries, b: buffers.k.rows(kvOffset + key0 * d, keys * d),
            c: probabilities)
        SoftmaxKernels.probabilities(probabilities, rows: rows, cols: keys, valid: valid, lse: buffers.logsumexp.rows(rowBase, rows))
        BLAS.gemm(
            BLASKit.GEMMShape(m: rows, n: keys, k: d, transB: .transpose), a: gradOutput, b: buffers.v.rows(kvOffset + key0 * d, keys * d),
            c: scoreGradient)
        SoftmaxKernels.scoreGradient(
            scoreGradient, probabilities: UnsafeBufferPointer(probabilities), rows: rows, cols: keys, delta: buffers.delta.rows(rowBase, rows),
            scale: scale)
    }

    /// dK and dV of one run of key blocks of one key/value head, Pᵀ·dO and dSᵀ·Q over every query
    /// block of every head that reads them, and dS·K added into the run's dQ rows of those heads.
    private static func keyRun(_ pair: Int, run: Int, of runs: Int, _ shape: AttentionShape, _ buffers: Buffers) {
        let d = shape.headDim
        let keyBlocks = Self.keyBlocks(shape)
        let batch = pair / shape.kvHeads, kvHead = pair % shape.kvHeads, group = shape.heads / shape.kvHeads
        let heads = batch * shape.heads + kvHead * group..<batch * shape.heads + (kvHead + 1) * group
        let dQ = buffers.dQ(run: run)
        for head in heads { dQ.rows(HostPreparedAttention.heads(head, shape).query, shape.seq * d).update(repeating: 0) }
        var probabilities = [Float](repeating: 0, count: Self.block * Self.block), scoreGradient = probabilities
        probabilities.withUnsafeMutableBufferPointer { probabilities in
            scoreGradient.withUnsafeMutableBufferPointer { scoreGradient in
                for block in run * keyBlocks / runs..<(run + 1) * keyBlocks / runs {
                    let key0 = block * Self.block, keys = min(Self.block, shape.seq - key0)
                    let kvOffset = AttentionInputs.rowOffset(shape, batch: batch, head: kvHead, headCount: shape.kvHeads, position: key0)
                    let dK = buffers.dK.rows(kvOffset, keys * d), dV = buffers.dV.rows(kvOffset, keys * d)
                    dK.update(repeating: 0)
                    dV.update(repeating: 0)
                    for head in heads {
                        let qOffset = HostPreparedAttention.heads(head, shape).query
                        // Causal: queries before the block's first key attend to none of it.
                        var row0 = shape.causal ? key0 / Self.block * Self.block : 0
                        while row0 < shape.seq {
                            let rows = min(Self.block, shape.seq - row0)
                            scores(shape, buffers, head: head, row0: row0, rows: rows, key0: key0, keys: keys,
                                   probabilities: probabilities, scoreGradient: scoreGradient)
                            BLAS.gemm(
                                BLASKit.GEMMShape(m: keys, n: d, k: rows, transA: .transpose), a: UnsafeBufferPointer(probabilities),
                                b: buffers.gradOutput.rows(qOffset + row0 * d, rows * d), beta: 1, c: dV)
                            BLAS.gemm(
                                BLASKit.GEMMShape(m: keys, n: d, k: rows, transA: .transpose), a: UnsafeBufferPointer(scoreGradient),
                                b: buffers.q.rows(qOffset + row0 * d, rows * d), beta: 1, c: dK)
                            BLAS.gemm(
                                BLASKit.GEMMShape(m: rows, n: d, k: keys), a: UnsafeBufferPointer(scoreGradient),
                                b: buffers.k.rows(kvOffset, keys * d), beta: 1, c: dQ.rows(qOffset + row0 * d, rows * d))
                            row0 += rows
                        }
                    }
                }
            }
        }
    }
}
