import CHostKernels

/// A tensor in host memory as a layer op stores it: fp32 values, or fp16/bf16 bit patterns.
/// Threads may write disjoint parts of it at once, which a Swift array does not allow.
public final class StoredTensor: @unchecked Sendable {
    /// The C kernels' NB_STORE_* codes.
    public enum Storage: Int32, Sendable {
        case fp32 = 0, fp16 = 1, bf16 = 2

        var bytes: Int { self == .fp32 ? 4 : 2 }
    }

    public let storage: Storage
    public let count: Int
    let pointer: UnsafeMutableRawPointer

    /// `count` zeros.
    public init(count: Int, storage: Storage) {
        self.storage = storage
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * storage.bytes), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count * storage.bytes))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count, storage: .fp32)
        values.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// fp16 or bf16 bit patterns.
    public convenience init(words: [UInt16], storage: Storage) {
        precondition(storage != .fp32, "16-bit words stored as fp32")
        self.init(count: words.count, storage: storage)
        words.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    deinit { pointer.deallocate() }

    /// The values of an fp32 tensor.
    public var floats: [Float] {
        precondition(storage == .fp32, "a \(storage) tensor read as fp32")
        return Array(UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: Float.self), count: count))
    }

    /// The bit patterns of an fp16 or bf16 tensor.
    public var words: [UInt16] {
        precondition(storage != .fp32, "an fp32 tensor read as 16-bit words")
        return Array(UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: UInt16.self), count: count))
    }

    var floatPointer: UnsafeMutablePointer<Float> {
        precondition(storage == .fp32, "row statistics, tables and partial sums are fp32")
        return pointer.assumingMemoryBound(to: Float.self)
    }
}

/// The layer's memory-bound ops (`layer_ops.h`) as Swift: each call covers some rows or elements,
/// and checks that every tensor holds what the call touches.
public enum LayerKernels {
    private static func check(_ tensors: [(StoredTensor, Int)], _ what: String) {
        for (tensor, needed) in tensors {
            precondition(tensor.count >= needed, "\(what): a tensor of \(tensor.count) values where \(needed) are touched")
        }
    }

    private static func checkTypes(_ tensors: StoredTensor...) {
        precondition(Set(tensors.map(\.storage)).count == 1, "tensors of one op stored in different types")
    }

    public static func rmsnormForward(
        x: StoredTensor, weight: StoredTensor, y: StoredTensor, rstd: StoredTensor, rows: Range<Int>, width: Int, epsilon: Float
    ) {
        checkTypes(x, weight, y)
        check([(x, rows.upperBound * width), (y, rows.upperBound * width), (weight, width), (rstd, rows.upperBound)], "rmsnorm")
        nb_rmsnorm_forward(
            x.storage.rawValue, x.pointer, weight.pointer, y.pointer, rstd.floatPointer, rows.lowerBound, rows.upperBound, width, epsilon)
    }

    /// dx for `rows`, and their share of the weight's gradient in `weightPartial` (`width` floats).
    public static func rmsnormBackward(
        x: StoredTensor, weight: StoredTensor, gradOutput: StoredTensor, rstd: StoredTensor, gradInput: StoredTensor,
        weightPartial: UnsafeMutableBufferPointer<Float>, rows: Range<Int>, width: Int
    ) {
        checkTypes(x, weight, gradOutput, gradInput)
        let n = rows.upperBound * width
        check([(x, n), (gradOutput, n), (gradInput, n), (weight, width), (rstd, rows.upperBound)], "rmsnorm backward")
        precondition(weightPartial.count >= width, "a weight gradient of \(weightPartial.count) for width \(width)")
        nb_rmsnorm_backward(
            x.storage.rawValue, x.pointer, weight.pointer, gradOutput.pointer, rstd.floatPointer, gradInput.pointer,
            weightPartial.baseAddress, rows.lowerBound, rows.upperBound, width)
    }

    public static func layernormForward(
        x: StoredTensor, weight: StoredTensor, bias: StoredTensor, y: StoredTensor, mean: StoredTensor, rstd: StoredTensor,
        rows: Range<Int>, width: Int, epsilon: Float
    ) {
        checkTypes(x, weight, bias, y)
        let n = rows.upperBound * width
        check([(x, n), (y, n), (weight, width), (bias, width), (mean, rows.upperBound), (rstd, rows.upperBound)], "layernorm")
        nb_layernorm_forward(
            x.storage.rawValue, x.pointer, weight.pointer, bias.pointer, y.pointer, mean.floatPointer, rstd.floatPointer,
            rows.lowerBound, rows.upperBound, width, epsilon)
    }

    public static func layernormBackward(
        x: StoredTensor, weight: StoredTensor, gradOutput: StoredTensor, mean: StoredTensor, rstd: StoredTensor,
        gradInput: StoredTensor, weightPartial: UnsafeMutableBufferPointer<Float>, biasPartial: UnsafeMutableBufferPointer<Float>,
        rows: Range<Int>, width: Int
    ) {
        checkTypes(x, weight, gradOutput, gradInput)
        let n = rows.upperBound * width
        check(
            [(x, n), (gradOutput, n), (gradInput, n), (weight, width), (mean, rows.upperBound), (rstd, rows.upperBound)],
            "layernorm backward")
        precondition(weightPartial.count >= width && biasPartial.count >= width, "partial gradients shorter than width \(width)")
        nb_layernorm_backward(
            x.storage.rawValue, x.pointer, weight.pointer, gradOutput.pointer, mean.floatPointer, rstd.floatPointer, gradInput.pointer,
            weightPartial.baseAddress, biasPartial.baseAddress, rows.lowerBound, rows.upperBound, width)
    }

    /// `output[j]` = the sum of column j of `partial` (`count` rows of `width`), stored as `output` is.
    public static func columnSums(_ partial: UnsafeBufferPointer<Float>, count: Int, width: Int, into output: StoredTensor) {
        precondition(partial.count >= count * width && output.count >= width, "column sums of \(count) x \(width)")
        nb_column_sums(output.storage.rawValue, partial.baseAddress, count, width, output.pointer)
    }

    public static func geluForward(x: StoredTensor, y: StoredTensor, elements: Range<Int>) {
        checkTypes(x, y)
        check([(x, elements.upperBound), (y, elements.upperBound)], "gelu")
        nb_gelu_forward(x.storage.rawValue, x.pointer, y.pointer, elements.lowerBound, elements.upperBound)
    }

    public static func geluBackward(x: StoredTensor, gradOutput: StoredTensor, gradInput: StoredTensor, elements: Range<Int>) {
        checkTypes(x, gradOutput, gradInput)
        check([(x, elements.upperBound), (gradOutput, elements.upperBound), (gradInput, elements.upperBound)], "gelu backward")
        nb_gelu_backward(x.storage.rawValue, x.pointer, gradOutput.pointer, gradInput.pointer, elements.lowerBound, elements.upperBound)
    }

    public static func swigluForward(gate: StoredTensor, up: StoredTensor, y: StoredTensor, elements: Range<Int>) {
        checkTypes(gate, up, y)
        check([(gate, elements.upperBound), (up, elements.upperBound), (y, elements.upperBound)], "swiglu")
        nb_swiglu_forward(gate.storage.rawValue, gate.pointer, up.pointer, y.pointer, elements.lowerBound, elements.upperBound)
    }

    public static func swigluBackward(
        gate: StoredTensor, up: StoredTensor, gradOutput: StoredTensor, gradGate: StoredTensor, gradUp: StoredTensor, elements: Range<Int>
    ) {
        checkTypes(gate, up, gradOutput, gradGate, gradUp)
        let n = elements.upperBound
        check([(gate, n), (up, n), (gradOutput, n), (gradGate, n), (gradUp, n)], "swiglu backward")
        nb_swiglu_backward(
            gate.storage.rawValue, gate.pointer, up.pointer, gradOutput.pointer, gradGate.pointer, gradUp.pointer, elements.lowerBound,
            elements.upperBound)
    }

    public static func add(_ a: StoredTensor, _ b: StoredTensor, into y: StoredTensor, elements: Range<Int>) {
        checkTypes(a, b, y)
        check([(a, elements.upperBound), (b, elements.upperBound), (y, elements.upperBound)], "add")
        nb_add(a.storage.rawValue, a.pointer, b.pointer, y.pointer, elements.lowerBound, elements.upperBound)
    }

    /// Rotates every head of `headDim` values in `rows` by the rows' angles; `backward` rotates back.
    public static func rotary(
        x: StoredTensor, cos: StoredTensor, sin: StoredTensor, y: StoredTensor, rows: Range<Int>, width: Int, headDim: Int, backward: Bool
    ) {
        checkTypes(x, y)
        precondition(headDim > 0 && headDim % 2 == 0 && width % headDim == 0, "rotary heads of \(headDim) in rows of \(width)")
        let n = rows.upperBound * width, angles = rows.upperBound * headDim / 2
        check([(x, n), (y, n), (cos, angles), (sin, angles)], "rotary")
        nb_rotary(
            x.storage.rawValue, x.pointer, cos.floatPointer, sin.floatPointer, y.pointer, rows.lowerBound, rows.upperBound, width,
            headDim, backward ? -1 : 1)
    }

    public static func crossEntropyForward(
        logits: StoredTensor, targets: UnsafeBufferPointer<Int32>, loss: StoredTensor, logsumexp: StoredTensor, rows: Range<Int>, width: Int
    ) {
        check([(logits, rows.upperBound * width), (loss, rows.upperBound), (logsumexp, rows.upperBound)], "cross-entropy")
        precondition(targets.count >= rows.upperBound && targets[rows].allSatisfy { (0..<Int32(width)).contains($0) }, "targets outside \(width) classes")
        nb_cross_entropy_forward(
            logits.storage.rawValue, logits.pointer, targets.baseAddress, loss.floatPointer, logsumexp.floatPointer, rows.lowerBound,
            rows.upperBound, width)
    }

    public static func crossEntropyBackward(
        logits: StoredTensor, targets: UnsafeBufferPointer<Int32>, logsumexp: StoredTensor, scale: Float, gradLogits: StoredTensor,
        rows: Range<Int>, width: Int
    ) {
        checkTypes(logits, gradLogits)
        check([(logits, rows.upperBound * width), (gradLogits, rows.upperBound * width), (logsumexp, rows.upperBound)], "cross-entropy backward")
        precondition(targets.count >= rows.upperBound && targets[rows].allSatisfy { (0..<Int32(width)).contains($0) }, "targets outside \(width) classes")
        nb_cross_entropy_backward(
            logits.storage.rawValue, logits.pointer, targets.baseAddress, logsumexp.floatPointer, scale, gradLogits.pointer, rows.lowerBound,
            rows.upperBound, width)
    }
}
