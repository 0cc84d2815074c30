import CHostKernels
import CHostProbes

// The project's own C kernels for the host, as Swift: buffers go in with their lengths, checked
// against what each call touches, so no caller does pointer arithmetic or passes a bare pointer.

/// The widest vector instruction set the host probes can use on this CPU, chosen at run time.
public struct HostISA: Sendable, Equatable {
    let raw: nb_isa

    public static var best: HostISA { HostISA(raw: nb_host_best_isa()) }

    /// e.g. "avx512f".
    public var name: String { String(cString: nb_isa_name(raw)) }
}

/// The host kernels are compiled once per instruction set (AVX-512, AVX2 with FMA, baseline) and the
/// clone for this CPU is picked when the program loads.
public enum HostKernelClone {
    /// Whether the picked clone fuses multiply-adds, as the AVX2 and AVX-512 clones do: a·a with
    /// a = 1 + 2^-12 is 1 + 2^-11 + 2^-24, whose last term only a fused multiply-add keeps.
    public static var fusesMultiplyAdd: Bool {
        let a: Float = 1 + 0x1p-12
        return nb_clone_multiply_add(a, a, -(1 + 0x1p-11)) != 0
    }
}

/// Compute, clock and memory-bandwidth probe loops, one thread each.
public enum ProbeKernels {
    /// `iterations` rounds of independent fp32 fused multiply-add chains, starting near `start`
    /// (a value the compiler cannot see); the floating-point operations done, and the chains' end
    /// value to keep the work alive.
    public static func fmaFP32(_ isa: HostISA, iterations: Int, start: Double) -> (flops: Double, sink: Double) {
        var sink: Float = 0
        let flops = nb_host_fma_fp32(isa.raw, iterations, start, &sink)
        return (flops, Double(sink))
    }

    public static func fmaFP64(_ isa: HostISA, iterations: Int, start: Double) -> (flops: Double, sink: Double) {
        var sink: Double = 0
        let flops = nb_host_fma_fp64(isa.raw, iterations, start, &sink)
        return (flops, sink)
    }

    /// The cycles `iterations` rounds of four dependent integer additions take; nil where no such
    /// loop is written for this architecture.
    public static func dependentAddCycles(iterations: Int) -> Double? {
        let cycles = nb_dependent_add_cycles(iterations)
        return cycles > 0 ? cycles : nil
    }

    /// STREAM's read: the sum of `source`.
    public static func read(_ source: UnsafeBufferPointer<Float>) -> Float {
        nb_stream_read(source.baseAddress, source.count)
    }

    /// STREAM's copy.
    public static func copy(_ source: UnsafeBufferPointer<Float>, to destination: UnsafeMutableBufferPointer<Float>) {
        precondition(destination.count == source.count, "copy of \(source.count) floats into \(destination.count)")
        nb_stream_copy(destination.baseAddress, source.baseAddress, source.count)
    }

    /// STREAM's triad: a = b + scalar · c.
    public static func triad(_ a: UnsafeMutableBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, _ c: UnsafeBufferPointer<Float>, scalar: Float) {
        precondition(b.count == a.count && c.count == a.count, "triad over \(a.count), \(b.count) and \(c.count) floats")
        nb_stream_triad(a.baseAddress, b.baseAddress, c.baseAddress, scalar, a.count)
    }
}

/// The online-softmax steps of the host's attention, on row-major blocks of `rows` x `cols`.
public enum SoftmaxKernels {
    /// One online-softmax step over a block of scores (FlashAttention-2's inner update): in row r
    /// only the first `valid[r]` columns count (the rest become 0); each row's running maximum
    /// rises to cover the block, the scores become exp(score - maximum), `corrections[r]` is
    /// exp(old maximum - new maximum) and `sums[r]` is scaled by it and grows by the row's new
    /// exponentials. Start a row with maximum -infinity and sum 0.
    public static func step(
        _ scores: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int, valid: [Int32], maxima: inout [Float], sums: inout [Float],
        corrections: inout [Float]
    ) {
        precondition(scores.count >= rows * cols, "a \(rows)x\(cols) block in \(scores.count) scores")
        precondition(valid.count >= rows && maxima.count >= rows && sums.count >= rows && corrections.count >= rows, "fewer row values than \(rows) rows")
        precondition(valid.prefix(rows).allSatisfy { (0...Int32(cols)).contains($0) }, "a valid count beyond \(cols) columns")
        nb_softmax_block(scores.baseAddress, Int32(rows), Int32(cols), Int32(cols), valid, &maxima, &sums, &corrections)
    }

    /// Multiplies row r of the block by `factors[r]`.
    public static func scaleRows(_ values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int, by factors: [Float]) {
        precondition(values.count >= rows * cols && factors.count >= rows, "a \(rows)x\(cols) block in \(values.count) values, \(factors.count) factors")
        nb_scale_rows(values.baseAddress, Int32(rows), Int32(cols), Int32(cols), factors)
    }

    /// The backward pass's probabilities from the forward's logsumexps: in row r the first
    /// `valid[r]` scores become exp(score - lse[r]), the rest 0.
    public static func probabilities(_ scores: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int, valid: [Int32], lse: UnsafeBufferPointer<Float>) {
        precondition(scores.count >= rows * cols && valid.count >= rows && lse.count >= rows, "a \(rows)x\(cols) block in \(scores.count) scores")
        nb_probabilities_block(scores.baseAddress, Int32(rows), Int32(cols), Int32(cols), valid, lse.baseAddress)
    }

    /// dS = P * (dP - delta[r]) * scale, in place of dP.
    public static func scoreGradient(
        _ gradient: UnsafeMutableBufferPointer<Float>, probabilities: UnsafeBufferPointer<Float>, rows: Int, cols: Int,
        delta: UnsafeBufferPointer<Float>, scale: Float
    ) {
        precondition(gradient.count >= rows * cols && probabilities.count >= rows * cols && delta.count >= rows, "a \(rows)x\(cols) block")
        nb_score_gradient_block(gradient.baseAddress, probabilities.baseAddress, Int32(rows), Int32(cols), Int32(cols), delta.baseAddress, scale)
    }

    /// Softmax's backward on whole rows: dS = P * (dP - rowsum(P * dP)) * scale, in place of dP.
    public static func backward(
        _ gradient: UnsafeMutableBufferPointer<Float>, probabilities: UnsafeBufferPointer<Float>, rows: Int, cols: Int, scale: Float
    ) {
        precondition(gradient.count >= rows * cols && probabilities.count >= rows * cols, "a \(rows)x\(cols) block")
        nb_softmax_backward_rows(gradient.baseAddress, probabilities.baseAddress, Int32(rows), Int32(cols), Int32(cols), scale)
    }
}
