import Foundation
import HostKernels
import Testing

@testable import NodeBenchKit

/// The layer's memory-bound ops: the reference's backward against finite differences of its
/// forward, and every device's kernels against the reference on sizes that are no multiple of any
/// vector or work-group, in every storage type.
@Suite struct LayerOpTests {
    /// Small odd cases of every op: 7 rows of 150 values, so that a CPU's sums run whole rounds of their
    /// chains and then single vectors (rotary: 2 heads of 19 pairs, a whole vector and a tail on
    /// every vector width; cross-entropy: 1001 classes).
    static func layerOp(_ op: LayerOp, pass: Pass, dtype: DType = .fp32, rows: Int = 7) throws -> LayerOpCase {
        switch op {
        case .rotary: try LayerOpCase(op, pass: pass, rows: rows, width: 76, headDim: 38, dtype: dtype)
        case .crossEntropy: try LayerOpCase(op, pass: pass, rows: rows, width: 1001, dtype: dtype)
        default: try LayerOpCase(op, pass: pass, rows: rows, width: 150, dtype: dtype)
        }
    }

    /// The gradient of L = Σ dy·y (cross-entropy: the mean loss) by central differences of the
    /// forward reference, for every input the backward returns a gradient of, in its order.
    static func finiteDifferences(_ op: LayerOp, forward: LayerOpInputs, gradOutput: [Double]) -> [Double] {
        let step = 1e-6
        func loss(_ inputs: LayerOpInputs) -> Double {
            let values = LayerOpReference(inputs).values
            return op == .crossEntropy ? values.reduce(0, +) / Double(values.count) : zip(values, gradOutput).map { $0 * $1 }.reduce(0, +)
        }
        let tensors: [WritableKeyPath<LayerOpInputs, [Double]>] = switch op {
        case .rmsnorm: [\.x, \.weight]
        case .layernorm: [\.x, \.weight, \.bias]
        case .swiglu: [\.x, \.other]
        case .gelu, .crossEntropy, .residual: [\.x]
        case .rotary: [\.x]
        }
        return tensors.flatMap { tensor in
            forward[keyPath: tensor].indices.map { index in
                var up = forward, down = forward
                up[keyPath: tensor][index] += step
                down[keyPath: tensor][index] -= step
                return (loss(up) - loss(down)) / (2 * step)
            }
        }
    }

    @Test(arguments: [LayerOp.rmsnorm, .layernorm, .gelu, .swiglu, .rotary, .crossEntropy])
    func theReferenceBackwardIsTheDerivativeOfItsForward(op: LayerOp) throws {
        let backward = LayerOpInputs(layerOp: try Self.layerOp(op, pass: .backward, rows: 3), seed: 9)
        let forward = LayerOpInputs(layerOp: backward.layerOp.with(pass: .forward), seed: 9)
        #expect(forward.x == backward.x && forward.weight == backward.weight, "both passes see the same tensors")
        // Rotating back is the transpose of rotating: the gradient of Σ dy·rotate(x) is rotate⁻¹(dy).
        let gradient = Self.finiteDifferences(op, forward: forward, gradOutput: backward.gradOutput)
        let reference = LayerOpReference(backward)
        let check = reference.verify(gradient)
        // Finite differences carry ~1e-9 of their own error, and the saved statistics are fp32.
        let largest = zip(gradient, reference.values).map { abs($0 - $1) }.max() ?? 0
        #expect(largest < 1e-5 * max(1, reference.values.map(abs).max() ?? 0), "\(op): \(largest), \(check)")
        var wrong = reference.values
        wrong[wrong.count / 2] += 1e-3 * max(1, abs(wrong[wrong.count / 2]))
        #expect(!reference.verify(wrong).passed, "\(op): an error of 1e-3 is caught")
        #expect(reference.verify(reference.values).passed)
    }

    /// Every op on every device of this node (the host and PoCL), both passes, against the
    /// reference; a second execution gives the same bits.
    @Test(arguments: LayerOpCase.dtypes)
    func everyDeviceMatchesTheReference(dtype: DType) throws {
        for op in LayerOp.allCases {
            for pass in Pass.allCases {
                try Self.expectEveryDeviceMatchesTheReference(LayerOpInputs(layerOp: try Self.layerOp(op, pass: pass, dtype: dtype), seed: 3))
            }
        }
    }

    /// A norm's backward over at least five rows per block (OpenCL: 4 blocks per compute unit) and
    /// per thread (the host: one per core), so that each runs its rows' output sweeps in groups of four
    /// and a remainder (2 compute units: 8 blocks of 6 rows, the last 5; 2 threads of 23 and 24), on
    /// rows of 600 values: a 16-bit dx is narrowed in blocks of 256 columns and a remainder (the host,
    /// and PoCL: two blocks, five more vectors, an eight-value tail).
    @Test(arguments: [DType.fp32, .bf16])
    func theNormsBackwardMatchesTheReferenceOnRowsInGroups(dtype: DType) throws {
        let units = AttentionTests.inventory.devices.compactMap(\.computeUnits).max() ?? 1
        let rows = 6 * 4 * max(units, ProcessInfo.processInfo.activeProcessorCount) - 1
        for op in [LayerOp.rmsnorm, .layernorm] {
            let layerOp = try LayerOpCase(op, pass: .backward, rows: rows, width: 600, dtype: dtype)
            try Self.expectEveryDeviceMatchesTheReference(LayerOpInputs(layerOp: layerOp, seed: 5))
        }
    }

    /// The host's bf16 blocks give every fp32 value the bits `BFloat16(_:)` gives it. The loss's
    /// backward of zero logits against a zero logsumexp is its scale in every column (e^0 is exactly
    /// 1), so each call narrows one fp32 value in a row of three 32-value chunks and a tail: every
    /// upper half with lower halves that round down, tie (to even, either way) and round up, among
    /// them infinities, NaNs and subnormals. A CPU with AVX512-BF16 narrows the chunks by its
    /// instruction and those holding a subnormal by the bit arithmetic; others by the bit arithmetic.
    @Test func theHostNarrowsBlocksToBF16AsBFloat16Does() {
        let width = 100
        let (logits, logsumexp) = (StoredTensor(count: width, storage: .bf16), StoredTensor([0]))
        let gradLogits = StoredTensor(count: width, storage: .bf16)
        let target: [Int32] = [0]
        var mismatches: [Float] = []
        for upper in 0..<UInt32(1 << 16) {
            for lower: UInt32 in [0, 0x1, 0x7FFF, 0x8000, 0x8001, 0xFFFF] {
                let scale = Float(bitPattern: upper << 16 | lower)
                target.withUnsafeBufferPointer {
                    LayerKernels.crossEntropyBackward(
                        logits: logits, targets: $0, logsumexp: logsumexp, scale: scale, gradLogits: gradLogits, rows: 0..<1, width: width)
                }
                let expected = BFloat16(scale).bitPattern
                // A NaN's payload is the multiplier's to keep; only its being a NaN is checked.
                let stored = gradLogits.words.dropFirst()  // the target's column holds (1 - 1)·scale
                if !stored.allSatisfy({ scale.isNaN ? BFloat16(bitPattern: $0).float.isNaN : $0 == expected }) { mismatches.append(scale) }
            }
        }
        #expect(mismatches.count == 0, "narrowed otherwise: \(mismatches.prefix(4)) ...")
    }

    static func expectEveryDeviceMatchesTheReference(_ inputs: LayerOpInputs) throws {
        let factory = BackendFactory(inventory: AttentionTests.inventory, tuned: TunedParameters()) { _ in }
        let reference = LayerOpReference(inputs)
        for device in AttentionTests.inventory.devices {
            let backend = try #require(try factory.make(.stream, for: device) as? LayerOpBackend)
            let kernel = try backend.prepare(inputs)
            _ = try kernel.execute()
            let first = try kernel.result()
            #expect(first.count == inputs.layerOp.outputElements)
            let check = reference.verify(first)
            #expect(check.passed, "\(device.id) \(inputs.layerOp): \(check)")
            _ = try kernel.execute()
            #expect(try kernel.result() == first, "\(device.id) \(inputs.layerOp): a second execution gives the same output")
        }
    }

    @Test func casesNameThemselvesCountTheirTrafficAndRefuseBadSizes() throws {
        let norm = try LayerOpCase(.rmsnorm, pass: .backward, rows: 2048, width: 4096, dtype: .bf16)
        #expect(norm.description == "rmsnorm bf16 2048x4096 backward")
        // x, dy read and dx written (2 bytes each), w read and dw written, one fp32 statistic per row.
        #expect(norm.minimumTrafficBytes == Double(3 * 2048 * 4096 * 2 + 2 * 4096 * 2 + 2048 * 4))
        #expect(norm.outputElements == 2048 * 4096 + 4096)
        let result = CaseResult(.layer(norm), device: AttentionTests.inventory.devices[0], implementation: "stream", status: .ok)
        #expect(result.workload == .layer(norm), "a result file says which op, pass and size it measured")
        #expect(throws: UsageError.self) { try LayerOpCase(.gelu, rows: 0, width: 10, dtype: .fp32) }
        #expect(throws: UsageError.self) { try LayerOpCase(.gelu, rows: 1 << 20, width: 1 << 20, dtype: .fp32) }
        #expect(throws: UsageError.self) { try LayerOpCase(.rotary, rows: 4, width: 100, headDim: 128, dtype: .fp32) }
        #expect(throws: UsageError.self) { try LayerOpCase(.residual, rows: 4, width: 100, dtype: .fp64) }
    }

    /// A model's layer ops are its family's: Llama's RMSNorm, SwiGLU and rotary; GPT-2's LayerNorm and GELU.
    @Test func eachModelRunsItsOwnLayerOps() throws {
        let llama = try TrainingStep(model: TransformerModel.named("llama3-8b"), seq: 512, microBatch: 2, tensorParallel: 2, dtype: .bf16)
        #expect(llama.layerOps.map(\.name) == ["rmsnorm", "swiglu", "residual", "rotary", "final-rmsnorm", "cross-entropy"])
        #expect(llama.layerOps[1].forward.width == 14336 / 2 && llama.layerOps[1].forward.rows == 1024)
        #expect(llama.layerOps[3].forward.width == (32 + 8) / 2 * 128)
        let gpt2 = try TrainingStep(model: TransformerModel.named("gpt2-124m"), seq: 1024, microBatch: 1, tensorParallel: 1, dtype: .fp32)
        #expect(gpt2.layerOps.map(\.name) == ["layernorm", "gelu", "residual", "final-layernorm", "cross-entropy"])
        #expect(gpt2.layerOps.last?.forward.width == 50257)
        let suite = gpt2.suite(sampling: Suite.named(.quick).sampling)
        #expect(suite.layerCases.count == 2 * 4, "both passes of each op once: the final norm is the layer's norm")
    }

    /// One repetition of a copy whose samples all take `seconds`, in `round`.
    static func copyRepetition(_ seconds: Double, round: Int) -> Repetition {
        Repetition(kernel: [seconds, seconds, seconds], wall: [seconds, seconds, seconds], warmupRuns: 0, round: round)
    }

    @Test func theAdjacentCopyReadsTheRoundsTheOpCounts() {
        let copies = [Self.copyRepetition(0.01, round: 1), Self.copyRepetition(0.02, round: 2), Self.copyRepetition(0.005, round: 3)]
        let gbs = { (disturbed: Set<Int>) in AdjacentCopy.gigabytesPerSecond(bytesMoved: 1e9, repetitions: copies, disturbedRounds: disturbed) }
        #expect(gbs([]) == 100)  // the median of 100, 50 and 200 GB/s
        #expect(gbs([2]) == 150)  // round 2 left out
        #expect(gbs([1, 2, 3]) == 100)  // every round hit: all count
        #expect(AdjacentCopy.gigabytesPerSecond(bytesMoved: 1e9, repetitions: [Self.copyRepetition(0, round: 1)], disturbedRounds: []) == nil)
    }

    /// The host's layer ops with a memory copy whose time the test chooses, or that fails.
    final class ScriptedCopyBackend: LayerOpBackend {
        let host: HostLayerOpBackend
        let copySeconds: Double?
        var device: DeviceDescriptor { host.device }
        var implementation: String { host.implementation }

        init(copySeconds: Double?) throws {
            let device = AttentionTests.inventory.devices.first(where: \.isHost)
            host = HostLayerOpBackend(device: try #require(device))
            self.copySeconds = copySeconds
        }

        func unsupportedReason(_ layerOp: LayerOpCase) -> String? { nil }
        func prepare(_ inputs: LayerOpInputs) throws -> PreparedKernel { try host.prepare(inputs) }
        func prepareCopy(bytesMoved: Double) throws -> MemoryCopy { ScriptedCopy(bytesMoved: bytesMoved, seconds: copySeconds) }
    }

    final class ScriptedCopy: MemoryCopy {
        let notes: [String] = []
        let bytesMoved: Double
        let seconds: Double?

        init(bytesMoved: Double, seconds: Double?) { (self.bytesMoved, self.seconds) = (bytesMoved, seconds) }

        func execute() throws -> SampleTime {
            guard let seconds else { throw ScriptedError.outOfMemory }
            return SampleTime(kernelSeconds: seconds, wallSeconds: seconds)
        }

        func result() throws -> [Double] { [] }
    }

    /// Each layer op is read against the memory copy timed after each of its repetitions, sized
    /// to the suite's largest op; a copy that fails leaves the op measured, with a note.
    @Test func layerOpsReadAgainstTheCopyTimedBesideThem() throws {
        let small = try LayerOpCase(.residual, rows: 4, width: 64, dtype: .fp32), large = try LayerOpCase(.gelu, rows: 8, width: 64, dtype: .fp32)
        let suite = Suite(name: "test", groups: [], layerCases: [small, large], sampling: RunnerTests.sampling)
        for copySeconds in [1e-3, nil] {
            let backend = try ScriptedCopyBackend(copySeconds: copySeconds)
            var results: [CaseResult] = []
            Runner(suite: suite, backends: [(backend.device, .stream, .success(backend))], hostMemoryBytes: 1 << 34, seed: 1).run(
                onStart: { _ in }, onResults: { results = $0 })
            #expect(results.count == 2 && results.allSatisfy { $0.status == .ok }, "\(results.map(\.reason))")
            for result in results {
                let efficiency = Roofline(device: backend.device.id, peaks: [], theoretical: []).efficiency(of: result)
                let achieved = try #require(efficiency.achievedGBs)
                if let copySeconds {
                    let copyGBs = max(small.minimumTrafficBytes, large.minimumTrafficBytes) / copySeconds / 1e9
                    let (adjacent, percent) = (try #require(result.adjacentCopyGBs), try #require(efficiency.percentOfAdjacentCopy))
                    #expect(abs(adjacent - copyGBs) < 1e-9 * copyGBs)
                    #expect(abs(percent - achieved / copyGBs * 100) < 1e-9)
                } else {
                    #expect(result.adjacentCopyGBs == nil && efficiency.percentOfAdjacentCopy == nil)
                    #expect(result.notes.contains { $0.hasPrefix("the memory copy beside it failed") }, "\(result.notes)")
                }
            }
        }
    }
}
