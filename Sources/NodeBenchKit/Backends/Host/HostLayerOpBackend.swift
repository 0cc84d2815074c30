import Foundation
import HostKernels

/// The layer ops on the host: the C kernels of `layer_ops.c`, rows (or elements) split evenly
/// between one thread per core; each reads and writes the tensors as stored.
final class HostLayerOpBackend: LayerOpBackend {
    let device: DeviceDescriptor
    var implementation: String { Implementation.stream.rawValue }

    init(device: DeviceDescriptor) { self.device = device }

    func unsupportedReason(_ layerOp: LayerOpCase) -> String? { nil }

    func prepare(_ inputs: LayerOpInputs) throws -> PreparedKernel { HostPreparedLayerOp(inputs) }

    func prepareCopy(bytesMoved: Double) throws -> MemoryCopy { HostMemoryCopy(bytesMoved: bytesMoved) }

    /// Host bytes beyond the runner's inputs: the stored tensors and outputs, fp32 row statistics
    /// and one weight gradient per thread.
    static func workingBytes(_ layerOp: LayerOpCase) -> Double {
        let storage = Double(layerOp.dtype.storageBytes)
        return Double(3 * layerOp.elements + layerOp.outputElements) * storage + Double(8 * layerOp.rows + 64 * layerOp.width) * 4
    }
}

extension StoredTensor {
    /// `values` stored as `dtype` (fp32, fp16 or bf16).
    convenience init(_ values: [Double], as dtype: DType) {
        switch StoredElements(values, as: dtype) {
        case .float(let floats): self.init(floats)
        case .halfWords(let words, let type): self.init(words: words, storage: type == .fp16 ? .fp16 : .bf16)
        case .double(let doubles): self.init(doubles.map(Float.init))
        }
    }

    convenience init(count: Int, as dtype: DType) {
        self.init(count: count, storage: dtype == .fp16 ? .fp16 : dtype == .bf16 ? .bf16 : .fp32)
    }

    var widened: [Double] {
        switch storage {
        case .fp32: floats.map(Double.init)
        case .fp16: StoredElements.decode(words, .fp16).map(Double.init)
        case .bf16: StoredElements.decode(words, .bf16).map(Double.init)
        }
    }
}

final class HostPreparedLayerOp: PreparedKernel {
    let notes: [String]
    private let layerOp: LayerOpCase
    /// The outputs, in the order the result lists them.
    private let outputs: [StoredTensor]
    private let run: () -> Void

    init(_ inputs: LayerOpInputs) {
        let layerOp = inputs.layerOp
        self.layerOp = layerOp
        let (rows, width, dtype) = (layerOp.rows, layerOp.width, layerOp.dtype)
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, rows))
        let stored = { (values: [Double]) in StoredTensor(values, as: dtype) }
        let x = stored(inputs.x), newTensor = { StoredTensor(count: layerOp.elements, as: dtype) }
        let epsilon = Float(LayerOp.normEpsilon)
        /// Runs `body` on each thread's share of `count` rows or elements, with the thread's index.
        func split(_ count: Int, _ body: @escaping @Sendable (Range<Int>, Int) -> Void) -> () -> Void {
            return {
                DispatchQueue.concurrentPerform(iterations: threads) { thread in
                    body(count * thread / threads..<count * (thread + 1) / threads, thread)
                }
            }
        }
        /// Each thread's weight gradients, summed into `outputs` after the rows.
        func withPartials(_ count: Int, into outputs: [StoredTensor], _ body: @escaping @Sendable (Range<Int>, [UnsafeMutableBufferPointer<Float>]) -> Void) -> () -> Void {
            let partials = PartialSums(threads: threads, width: width, count: count)
            let rowsRun = split(rows) { range, thread in body(range, partials.slices(thread)) }
            return {
                rowsRun()
                for (index, output) in outputs.enumerated() { partials.sum(index, into: output) }
            }
        }

        switch (layerOp.op, layerOp.pass) {
        case (.rmsnorm, .forward):
            let (weight, y, rstd) = (stored(inputs.weight), newTensor(), StoredTensor(count: rows, storage: .fp32))
            outputs = [y]
            run = split(rows) { range, _ in
                LayerKernels.rmsnormForward(x: x, weight: weight, y: y, rstd: rstd, rows: range, width: width, epsilon: epsilon)
            }
        case (.rmsnorm, .backward):
            let (weight, gradOutput, rstd) = (stored(inputs.weight), stored(inputs.gradOutput), StoredTensor(inputs.rstd))
            let (gradInput, gradWeight) = (newTensor(), StoredTensor(count: width, as: dtype))
            outputs = [gradInput, gradWeight]
            run = withPartials(1, into: [gradWeight]) { range, partials in
                LayerKernels.rmsnormBackward(
                    x: x, weight: weight, gradOutput: gradOutput, rstd: rstd, gradInput: gradInput, weightPartial: partials[0], rows: range,
                    width: width)
            }
        case (.layernorm, .forward):
            let (weight, bias, y) = (stored(inputs.weight), stored(inputs.bias), newTensor())
            let (mean, rstd) = (StoredTensor(count: rows, storage: .fp32), StoredTensor(count: rows, storage: .fp32))
            outputs = [y]
            run = split(rows) { range, _ in
                LayerKernels.layernormForward(
                    x: x, weight: weight, bias: bias, y: y, mean: mean, rstd: rstd, rows: range, width: width, epsilon: epsilon)
            }
        case (.layernorm, .backward):
            let (weight, gradOutput) = (stored(inputs.weight), stored(inputs.gradOutput))
            let (mean, rstd) = (StoredTensor(inputs.mean), StoredTensor(inputs.rstd))
            let (gradInput, gradWeight, gradBias) = (newTensor(), StoredTensor(count: width, as: dtype), StoredTensor(count: width, as: dtype))
            outputs = [gradInput, gradWeight, gradBias]
            run = withPartials(2, into: [gradWeight, gradBias]) { range, partials in
                LayerKernels.layernormBackward(
                    x: x, weight: weight, gradOutput: gradOutput, mean: mean, rstd: rstd, gradInput: gradInput, weightPartial: partials[0],
                    biasPartial: partials[1], rows: range, width: width)
            }
        case (.gelu, .forward):
            let y = newTensor()
            outputs = [y]
            run = split(layerOp.elements) { range, _ in LayerKernels.geluForward(x: x, y: y, elements: range) }
        case (.gelu, .backward):
            let (gradOutput, gradInput) = (stored(inputs.gradOutput), newTensor())
            outputs = [gradInput]
            run = split(layerOp.elements) { range, _ in
                LayerKernels.geluBackward(x: x, gradOutput: gradOutput, gradInput: gradInput, elements: range)
            }
        case (.swiglu, .forward):
            let (up, y) = (stored(inputs.other), newTensor())
            outputs = [y]
            run = split(layerOp.elements) { range, _ in LayerKernels.swigluForward(gate: x, up: up, y: y, elements: range) }
        case (.swiglu, .backward):
            let (up, gradOutput, gradGate, gradUp) = (stored(inputs.other), stored(inputs.gradOutput), newTensor(), newTensor())
            outputs = [gradGate, gradUp]
            run = split(layerOp.elements) { range, _ in
                LayerKernels.swigluBackward(gate: x, up: up, gradOutput: gradOutput, gradGate: gradGate, gradUp: gradUp, elements: range)
            }
        case (.residual, _):
            let (other, y) = (stored(inputs.other), newTensor())
            outputs = [y]
            run = split(layerOp.elements) { range, _ in LayerKernels.add(x, other, into: y, elements: range) }
        case (.rotary, let pass):
            let source = pass == .backward ? stored(inputs.gradOutput) : x
            let (cos, sin, y, headDim) = (StoredTensor(inputs.cos), StoredTensor(inputs.sin), newTensor(), layerOp.headDim ?? 2)
            outputs = [y]
            run = split(rows) { range, _ in
                LayerKernels.rotary(
                    x: source, cos: cos, sin: sin, y: y, rows: range, width: width, headDim: headDim, backward: pass == .backward)
            }
        case (.crossEntropy, .forward):
            let (targets, loss, logsumexp) = (inputs.targets, StoredTensor(count: rows, storage: .fp32), StoredTensor(count: rows, storage: .fp32))
            outputs = [loss]
            run = split(rows) { range, _ in
                targets.withUnsafeBufferPointer {
                    LayerKernels.crossEntropyForward(logits: x, targets: $0, loss: loss, logsumexp: logsumexp, rows: range, width: width)
                }
            }
        case (.crossEntropy, .backward):
            let (targets, logsumexp, gradLogits) = (inputs.targets, StoredTensor(inputs.logsumexp), newTensor())
            outputs = [gradLogits]
            run = split(rows) { range, _ in
                targets.withUnsafeBufferPointer {
                    LayerKernels.crossEntropyBackward(
                        logits: x, targets: $0, logsumexp: logsumexp, scale: 1 / Float(rows), gradLogits: gradLogits, rows: range, width: width)
                }
            }
        }
        notes = ["C kernels, one pass over the stored tensors, fp32 arithmetic; \(threads) threads, each a contiguous share of the "
            + (layerOp.op == .gelu || layerOp.op == .swiglu || layerOp.op == .residual ? "elements" : "rows")]
    }

    func execute() throws -> SampleTime {
        let ((), seconds) = MonotonicClock.time(run)
        return SampleTime(kernelSeconds: seconds, wallSeconds: seconds)
    }

    func result() throws -> [Double] { outputs.flatMap(\.widened) }
}

/// Each thread's partial column sums (weight gradients) of a norm's backward.
private final class PartialSums: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Float>
    private let threads: Int, width: Int, count: Int

    init(threads: Int, width: Int, count: Int) {
        (self.threads, self.width, self.count) = (threads, width, count)
        storage = .allocate(capacity: threads * width * count)
        storage.initialize(repeating: 0)
    }

    deinit { storage.deallocate() }

    /// Thread `thread`'s rows, one per gradient: gradient g of thread t at `(g * threads + t) * width`.
    func slices(_ thread: Int) -> [UnsafeMutableBufferPointer<Float>] {
        (0..<count).map { gradient in
            UnsafeMutableBufferPointer(rebasing: storage[((gradient * threads) + thread) * width..<((gradient * threads) + thread + 1) * width])
        }
    }

    /// Gradient `gradient` summed over the threads into `output`.
    func sum(_ gradient: Int, into output: StoredTensor) {
        let rows = UnsafeBufferPointer(rebasing: storage[gradient * threads * width..<(gradient + 1) * threads * width])
        LayerKernels.columnSums(rows, count: threads, width: width, into: output)
    }
}

/// The host's memory copy beside the layer ops: STREAM's copy, one thread per core, as the ops
/// run whenever they have a row or element per core.
final class HostMemoryCopy: MemoryCopy, @unchecked Sendable {
    let notes: [String] = []
    let bytesMoved: Double
    private let source: UnsafeMutableBufferPointer<Float>, destination: UnsafeMutableBufferPointer<Float>
    private let threads = max(1, ProcessInfo.processInfo.activeProcessorCount)

    init(bytesMoved: Double) {
        let count = max(threads, Int(bytesMoved / 8))
        self.bytesMoved = Double(count * 8)
        source = .allocate(capacity: count)
        source.initialize(repeating: 1)
        destination = .allocate(capacity: count)
        destination.initialize(repeating: 0)
    }

    deinit {
        source.deallocate()
        destination.deallocate()
    }

    func execute() throws -> SampleTime {
        let ((), seconds) = MonotonicClock.time {
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                let range = source.count * thread / threads..<source.count * (thread + 1) / threads
                ProbeKernels.copy(UnsafeBufferPointer(rebasing: source[range]), to: UnsafeMutableBufferPointer(rebasing: destination[range]))
            }
        }
        return SampleTime(kernelSeconds: seconds, wallSeconds: seconds)
    }

    func result() throws -> [Double] { [] }
}
