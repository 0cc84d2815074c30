import BLASKit
import Foundation
import HostKernels

/// Attention on the host CPU through BLAS, in fp32 (fp16/bf16 are widened before and rounded after,
/// timed). `naive` materializes each head's S x S scores: sgemm, softmax, sgemm. `fused` never
/// does: query blocks run in parallel, one per core, each streaming key/value blocks through two
/// single-threaded sgemms with the online softmax between them (FlashAttention-2's loop order).
final class HostAttentionBackend: AttentionBackend {
    let device: DeviceDescriptor
    let fused: Bool
    var implementation: String { fused ? Implementation.flash.rawValue : Implementation.naive.rawValue }

    /// Query rows and keys per block of the fused loop: a block's scores (256 x 512 floats) and
    /// its Q, K, V and output tiles stay in a core's L2 cache. Measured on a 2-core Zen 4 at
    /// S=2048, D=64: 64-256 rows x 128-1024 keys are all within 10% of each other.
    static let queryBlock = 256, keyBlock = 512

    init(device: DeviceDescriptor, fused: Bool) {
        self.device = device
        self.fused = fused
    }

    func unsupportedReason(_ attention: AttentionCase) -> String? { nil }

    /// Host bytes beyond the runner's inputs: fp32 copies of Q, K, V and O, plus the scores
    /// (one head's S x S for naive, one block per core for fused; for the naive backward every
    /// head's probabilities and one group's score gradient, for the fused one its dQ partials).
    func workingBytes(_ attention: AttentionCase) -> Double {
        let shape = attention.shape
        // Forward: Q, K, V and O; backward: Q, K, V, dO, O, dQ, dK and dV.
        let tensors = attention.pass == .backward ? 4 * shape.queryElements + 4 * shape.keyElements : 2 * shape.queryElements + 2 * shape.keyElements
        let copies = Double(tensors) * (4 + Double(attention.dtype.storageBytes))
        let seq = Double(shape.seq)
        // Fused: each concurrent block holds its scores and output accumulator.
        let blocks = Double(ProcessInfo.processInfo.activeProcessorCount * Self.queryBlock * (Self.keyBlock + shape.headDim))
        let scores = fused ? blocks * 4 : seq * seq * 4
        guard attention.pass == .backward else { return copies + scores }
        if fused {
            let runs = HostPreparedAttentionBackward.keyRuns(shape, cores: ProcessInfo.processInfo.activeProcessorCount)
            return copies + scores + Double((runs - 1) * shape.queryElements) * 4
        }
        return copies + Double(shape.batch * shape.heads + shape.heads / shape.kvHeads) * seq * seq * 4
    }

    func prepare(_ inputs: AttentionInputs) throws -> PreparedKernel {
        guard inputs.attention.pass == .backward else { return HostPreparedAttention(inputs, fused: fused) }
        return fused ? try HostPreparedAttentionBackward(inputs) : try HostUnfusedAttentionBackward(inputs)
    }
}

final class HostPreparedAttention: PreparedKernel {
    let notes: [String]
    private let shape: AttentionShape
    private let dtype: DType
    private let fused: Bool
    /// Inputs as stored; fp16/bf16 as bit patterns, widened at each execution.
    private let stored: (q: StoredElements, k: StoredElements, v: StoredElements)
    private var output: [Float]
    private var storedOutput: [UInt16] = []
    /// Per query row: the log of its softmax denominator, kept for a backward pass.
    private(set) var logsumexp: [Float]
    /// The naive path's parts: its two products (whole matrices, masked or not) and the softmax.
    private let stageTimes: StageTimes

    init(_ inputs: AttentionInputs, fused: Bool) {
        shape = inputs.attention.shape
        dtype = inputs.attention.dtype
        self.fused = fused
        stored = (StoredElements(inputs.q, as: dtype), StoredElements(inputs.k, as: dtype), StoredElements(inputs.v, as: dtype))
        output = [Float](repeating: 0, count: shape.queryElements)
        logsumexp = [Float](repeating: 0, count: shape.queryRows)
        let product = shape.unmaskedProductFlops
        stageTimes = StageTimes([
            .init(name: "S = scale·Q·Kᵀ", flops: product), .init(name: "softmax", flops: nil), .init(name: "O = P·V", flops: product),
        ])
        let algorithm = fused
            ? "fused: \(HostAttentionBackend.queryBlock)-row query blocks in parallel, \(HostAttentionBackend.keyBlock)-key blocks through single-threaded cblas_sgemm, online softmax between; no S x S matrix"
            : "naive: per head, S = Q·Kᵀ (cblas_sgemm), row softmax (rows split between the cores), O = P·V (cblas_sgemm); one S x S fp32 matrix"
        notes = [algorithm, "fp32 scores, softmax and sums"]
            + (dtype == .fp32 ? [] : ["\(dtype.rawValue) widened to fp32 before and O rounded to \(dtype.rawValue) after; conversions timed"])
    }

    func execute() throws -> SampleTime {
        let ((), seconds) = MonotonicClock.time {
            let q = stored.q.floats, k = stored.k.floats, v = stored.v.floats
            if fused { runFused(q, k, v) } else { runNaive(q, k, v) }
            if dtype != .fp32 { storedOutput = StoredElements.encode(output, dtype) }
        }
        return SampleTime(kernelSeconds: seconds, wallSeconds: seconds)
    }

    var stages: [CaseResult.Stage] { fused ? [] : stageTimes.summaries }

    func result() throws -> [Double] {
        dtype == .fp32 ? output.map(Double.init) : StoredElements.decode(storedOutput, dtype).map(Double.init)
    }

    /// Offsets of a query head's rows and of its key/value head's rows.
    static func heads(_ index: Int, _ shape: AttentionShape) -> (query: Int, keyValue: Int) {
        let batch = index / shape.heads, head = index % shape.heads
        return (
            AttentionInputs.rowOffset(shape, batch: batch, head: head, headCount: shape.heads, position: 0),
            AttentionInputs.rowOffset(shape, batch: batch, head: shape.kvHead(of: head), headCount: shape.kvHeads, position: 0)
        )
    }

    private func runNaive(_ q: [Float], _ k: [Float], _ v: [Float]) {
        let (s, d) = (shape.seq, shape.headDim)
        let scale = 1 / Float(d).squareRoot()
        var scores = [Float](repeating: 0, count: s * s)
        var maxima = [Float](repeating: 0, count: s), sums = [Float](repeating: 0, count: s)
        let valid = (0..<s).map { Int32(shape.causal ? $0 + 1 : s) }
        var clock = HostStageClock(stageCount: stageTimes.stages.count)  // indices in stageTimes' order
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    output.withUnsafeMutableBufferPointer { out in
                        scores.withUnsafeMutableBufferPointer { scores in
                            for index in 0..<(shape.batch * shape.heads) {
                                let (qOffset, kvOffset) = Self.heads(index, shape)
                                let headRows = q.rows(qOffset, s * d)
                                clock.time(0) {
                                    BLAS.gemm(
                                        BLASKit.GEMMShape(m: s, n: s, k: d, transB: .transpose), alpha: scale, a: headRows,
                                        b: k.rows(kvOffset, s * d), c: scores)
                                }
                                clock.time(1) { Self.softmax(scores, rows: s, valid: valid, maxima: &maxima, sums: &sums) }
                                let headOutput = out.rows(qOffset, s * d)
                                clock.time(2) {
                                    BLAS.gemm(BLASKit.GEMMShape(m: s, n: d, k: s), a: UnsafeBufferPointer(scores), b: v.rows(kvOffset, s * d), c: headOutput)
                                }
                                // The division by the row sums, deferred to O's rows as the fused path does: softmax's.
                                clock.time(1) {
                                    SoftmaxKernels.scaleRows(headOutput, rows: s, cols: d, by: sums.map { 1 / $0 })
                                    let rowBase = index * s
                                    for row in 0..<s { logsumexp[rowBase + row] = maxima[row] + log(sums[row]) }
                                }
                            }
                        }
                    }
                }
            }
        }
        stageTimes.record(stageSeconds: clock.seconds)
    }

    /// Each row of an S x S block becomes its exponentials, with its maximum and their sum; the
    /// rows split between the cores, as a framework's softmax splits them.
    private static func softmax(_ scores: UnsafeMutableBufferPointer<Float>, rows s: Int, valid: [Int32], maxima: inout [Float], sums: inout [Float]) {
        maxima.withUnsafeMutableBufferPointer { maxima in
            sums.withUnsafeMutableBufferPointer { sums in
                let block = SoftmaxBlock(scores: scores, maxima: maxima, sums: sums)
                forEachRowShare(s) { range in
                    var shareMaxima = [Float](repeating: -.infinity, count: range.count), shareSums = [Float](repeating: 0, count: range.count)
                    var corrections = shareSums
                    SoftmaxKernels.step(
                        block.scores.rows(range.lowerBound * s, range.count * s), rows: range.count, cols: s, valid: Array(valid[range]),
                        maxima: &shareMaxima, sums: &shareSums, corrections: &corrections)
                    for (index, row) in range.enumerated() {
                        block.maxima[row] = shareMaxima[index]
                        block.sums[row] = shareSums[index]
                    }
                }
            }
        }
    }

    /// Each share of rows touches only its own rows and entries.
    private struct SoftmaxBlock: @unchecked Sendable {
        let scores: UnsafeMutableBufferPointer<Float>, maxima: UnsafeMutableBufferPointer<Float>, sums: UnsafeMutableBufferPointer<Float>
    }

    private func runFused(_ q: [Float], _ k: [Float], _ v: [Float]) {
        let blocksPerHead = (shape.seq + HostAttentionBackend.queryBlock - 1) / HostAttentionBackend.queryBlock
        let tasks = shape.batch * shape.heads * blocksPerHead
        // Each block's GEMMs are small: one thread each, the blocks side by side on the cores.
        BLAS.withThreads(1) {
            output.withUnsafeMutableBufferPointer { out in
                logsumexp.withUnsafeMutableBufferPointer { lse in
                    q.withUnsafeBufferPointer { q in
                        k.withUnsafeBufferPointer { k in
                            v.withUnsafeBufferPointer { v in
                                let buffers = FusedBuffers(q: q, k: k, v: v, out: out, lse: lse)
                                let shape = shape
                                DispatchQueue.concurrentPerform(iterations: tasks) { task in
                                    Self.runFusedBlock(task / blocksPerHead, queryBlock: task % blocksPerHead, shape, buffers)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private struct FusedBuffers: @unchecked Sendable {
        let q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>
        /// Each task writes only its own rows.
        let out: UnsafeMutableBufferPointer<Float>, lse: UnsafeMutableBufferPointer<Float>
    }

    /// One query block of one head: stream key/value blocks, online softmax, normalize once.
    private static func runFusedBlock(_ headIndex: Int, queryBlock: Int, _ shape: AttentionShape, _ buffers: FusedBuffers) {
        let (s, d) = (shape.seq, shape.headDim)
        let scale = 1 / Float(d).squareRoot()
        let row0 = queryBlock * HostAttentionBackend.queryBlock
        let rows = min(HostAttentionBackend.queryBlock, s - row0)
        let (qOffset, kvOffset) = heads(headIndex, shape)
        let keyBlock = HostAttentionBackend.keyBlock
        var scores = [Float](repeating: 0, count: rows * keyBlock)
        var accumulator = [Float](repeating: 0, count: rows * d)
        var maxima = [Float](repeating: -.infinity, count: rows), sums = [Float](repeating: 0, count: rows)
        var corrections = [Float](repeating: 0, count: rows)
        var valid = [Int32](repeating: 0, count: rows)
        let queries = buffers.q.rows(qOffset + row0 * d, rows * d)
        // Causal: keys past the block's last query are masked for every row; skip them.
        let keyEnd = shape.causal ? row0 + rows : s
        var key0 = 0
        scores.withUnsafeMutableBufferPointer { scores in
            accumulator.withUnsafeMutableBufferPointer { accumulator in
                while key0 < keyEnd {
                    let keys = min(keyBlock, keyEnd - key0)
                    for r in 0..<rows { valid[r] = Int32(shape.causal ? max(0, min(keys, row0 + r - key0 + 1)) : keys) }
                    BLAS.gemm(
                        BLASKit.GEMMShape(m: rows, n: keys, k: d, transB: .transpose), alpha: scale, a: queries,
                        b: buffers.k.rows(kvOffset + key0 * d, keys * d), c: scores)
                    SoftmaxKernels.step(scores, rows: rows, cols: keys, valid: valid, maxima: &maxima, sums: &sums, corrections: &corrections)
                    SoftmaxKernels.scaleRows(accumulator, rows: rows, cols: d, by: corrections)
                    BLAS.gemm(
                        BLASKit.GEMMShape(m: rows, n: d, k: keys), a: UnsafeBufferPointer(scores), b: buffers.v.rows(kvOffset + key0 * d, keys * d),
                        beta: 1, c: accumulator)
                    key0 += keys
                }
                SoftmaxKernels.scaleRows(accumulator, rows: rows, cols: d, by: sums.map { 1 / $0 })
                _ = buffers.out.rows(qOffset + row0 * d, rows * d).update(fromContentsOf: accumulator)
            }
        }
        let rowBase = headIndex * s + row0
        for r in 0..<rows { buffers.lse[rowBase + r] = maxima[r] + log(sums[r]) }
    }
}

/// Runs `body` on each core's share of `rows` rows, contiguous and of equal size to within one row.
func forEachRowShare(_ rows: Int, _ body: @Sendable (Range<Int>) -> Void) {
    let shares = max(1, min(ProcessInfo.processInfo.activeProcessorCount, rows))
    DispatchQueue.concurrentPerform(iterations: shares) { share in
        body(rows * share / shares..<rows * (share + 1) / shares)
    }
}

extension UnsafeBufferPointer {
    /// The `count` elements from `start`: one head's or block's rows of a larger array.
    func rows(_ start: Int, _ count: Int) -> UnsafeBufferPointer {
        precondition(start >= 0 && start + count <= self.count, "rows \(start)..<\(start + count) of \(self.count)")
        return UnsafeBufferPointer(rebasing: self[start..<start + count])
    }
}

extension UnsafeMutableBufferPointer {
    /// The `count` elements from `start`: one head's or block's rows of a larger array.
    func rows(_ start: Int, _ count: Int) -> UnsafeMutableBufferPointer {
        precondition(start >= 0 && start + count <= self.count, "rows \(start)..<\(start + count) of \(self.count)")
        return UnsafeMutableBufferPointer(rebasing: self[start..<start + count])
    }
}
