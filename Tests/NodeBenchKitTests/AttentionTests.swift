import Foundation
import Testing

@testable import NodeBenchKit

/// Attention: the reference against the definition, every implementation against the reference
/// on the real OpenBLAS and the real PoCL device, memory limits, and the model workload's counts.
@Suite struct AttentionTests {
    static let inventory = NodeInventory.discover()

    static func shape(_ b: Int, _ h: Int, _ kv: Int, _ s: Int, _ d: Int, causal: Bool) throws -> AttentionShape {
        try AttentionShape(batch: b, heads: h, kvHeads: kv, seq: s, headDim: d, causal: causal)
    }

    /// Attention as its definition reads, written independently of the reference: softmax of the
    /// scaled, masked scores, times V.
    static func definition(_ inputs: AttentionInputs) -> [Double] {
        let shape = inputs.attention.shape
        let (s, d) = (shape.seq, shape.headDim)
        var output = [Double](repeating: 0, count: shape.queryElements)
        for b in 0..<shape.batch {
            for h in 0..<shape.heads {
                let kvh = h / (shape.heads / shape.kvHeads)
                for i in 0..<s {
                    let q = Array(inputs.q[(((b * shape.heads + h) * s) + i) * d..<(((b * shape.heads + h) * s) + i + 1) * d])
                    var weights = (0..<s).map { j -> Double in
                        if shape.causal && j > i { return 0 }
                        let k = inputs.k[(((b * shape.kvHeads + kvh) * s) + j) * d..<(((b * shape.kvHeads + kvh) * s) + j + 1) * d]
                        return exp(zip(q, k).map { $0 * $1 }.reduce(0, +) / Double(d).squareRoot())
                    }
                    let total = weights.reduce(0, +)
                    weights = weights.map { $0 / total }
                    for j in 0..<s where weights[j] > 0 {
                        for x in 0..<d {
                            output[(((b * shape.heads + h) * s) + i) * d + x] += weights[j] * inputs.v[(((b * shape.kvHeads + kvh) * s) + j) * d + x]
                        }
                    }
                }
            }
        }
        return output
    }

    @Test(arguments: [true, false])
    func theReferenceIsTheDefinitionAndCatchesSmallErrors(causal: Bool) throws {
        let inputs = AttentionInputs(attention: AttentionCase(shape: try Self.shape(2, 4, 2, 9, 8, causal: causal), dtype: .fp32), seed: 3)
        let reference = AttentionReference(inputs)
        var output = Self.definition(inputs)
        let exact = reference.verify(output)
        #expect(exact.passed && exact.method == "full" && exact.maxAbsError < 1e-12)
        output[output.count / 2] += 1e-4  // far above fp32 rounding, far below any visible bug
        #expect(!reference.verify(output).passed)
        output[output.count / 2] = .nan
        #expect(reference.verify(output).nonFiniteElements == 1)
    }

    @Test func largeCasesAreCheckedOnASpreadOfRowsIncludingTheLast() throws {
        let inputs = AttentionInputs(attention: AttentionCase(shape: try Self.shape(1, 2, 1, 300, 16, causal: true), dtype: .bf16), seed: 1)
        let reference = AttentionReference(inputs, budget: 300 * 2 * 16 * 10)
        #expect(reference.method == "sampled" && reference.rows.count == 10)
        #expect(reference.rows.first == 0 && reference.rows.last == 599)
    }

    static func backends() throws -> [AttentionBackend] {
        let openCL = try #require(inventory.devices.first { $0.backend == .opencl }, "scripts/setup installs PoCL")
        let device = try inventory.openCL(openCL)
        return [
            HostAttentionBackend(device: inventory.devices[0], fused: false), HostAttentionBackend(device: inventory.devices[0], fused: true),
            try OpenCLAttentionBackend(device: device, flash: false),
            try OpenCLAttentionBackend(device: device, flash: true),
        ]
    }

    /// Odd sequence lengths (off every block and vector width; 600 spans several host blocks),
    /// grouped-query heads, a head dimension off the vector width, both maskings, every type.
    @Test(arguments: AttentionCase.dtypes, [true, false])
    func everyImplementationMatchesTheReference(dtype: DType, causal: Bool) throws {
        let shapes = [try Self.shape(2, 4, 2, 37, 64, causal: causal), try Self.shape(1, 2, 1, 600, 24, causal: causal), try Self.shape(1, 1, 1, 1, 64, causal: causal)]
        for backend in try Self.backends() {
            for shape in shapes {
                let inputs = AttentionInputs(attention: AttentionCase(shape: shape, dtype: dtype), seed: 11)
                let prepared = try backend.prepare(inputs)
                _ = try prepared.execute()
                let verification = AttentionReference(inputs).verify(try prepared.result())
                #expect(verification.passed, "\(backend.device.id) \(backend.implementation) \(inputs.attention): error \(verification.maxAbsError) tolerance \(verification.tolerance)")
            }
        }
    }

    /// Scores that climb by ~25 (log2 units) over every 64 keys and fall back: each row's running
    /// maximum moves again and again in mid-row, past the flash kernel's threshold for a rescale.
    @Test(arguments: [true, false])
    func scoresClimbingAlongTheKeysAreRescaledRight(causal: Bool) throws {
        let shape = try Self.shape(1, 2, 1, 203, 20, causal: causal)
        let seeded = AttentionInputs(attention: AttentionCase(shape: shape, dtype: .fp32), seed: 3)
        let q = (0..<shape.queryElements).map { 0.5 + 0.25 * Double($0 / shape.headDim % 3) }
        let k = (0..<shape.keyElements).map { Double($0 / shape.headDim % 64) / 8 }
        let inputs = AttentionInputs(attention: seeded.attention, q: q, k: k, v: seeded.v, gradOutput: [])
        let reference = AttentionReference(inputs)
        for backend in try Self.backends() {
            let prepared = try backend.prepare(inputs)
            _ = try prepared.execute()
            let verification = reference.verify(try prepared.result())
            #expect(verification.passed, "\(backend.implementation): error \(verification.maxAbsError) tolerance \(verification.tolerance)")
            if let flash = prepared as? OpenCLPreparedAttention, backend.implementation == "flash" {
                #expect(reference.logsumexpError(try flash.logsumexp()) < 1e-5)
            }
        }
    }

    @Test func theFlashKernelStoresEachRowsLogsumexp() throws {
        let backend = try #require(try Self.backends().last as? OpenCLAttentionBackend)
        let inputs = AttentionInputs(attention: AttentionCase(shape: try Self.shape(1, 2, 2, 45, 64, causal: true), dtype: .fp32), seed: 5)
        let prepared = try #require(try backend.prepare(inputs) as? OpenCLPreparedAttention)
        _ = try prepared.execute()
        #expect(AttentionReference(inputs).logsumexpError(try prepared.logsumexp()) < 1e-5)
    }

    @Test func naiveIsRefusedWhatItCannotMaterializeAndFlashIsNot() throws {
        let huge = AttentionCase(shape: try Self.shape(1, 1, 1, 1 << 20, 128, causal: false), dtype: .fp32)
        let backends = try Self.backends()
        let naive = try #require(backends[2] as? OpenCLAttentionBackend), flash = try #require(backends[3] as? OpenCLAttentionBackend)
        // The S x S scores, or the GEMM's packed copy of them, whichever its row panels round up more.
        let reason = try #require(naive.unsupportedReason(huge))
        #expect(["scores buffer", "packed A buffer"].contains { reason.contains($0) }, "\(reason)")
        #expect(flash.unsupportedReason(huge) == nil)
    }

    @Test func shapesRefuseBadDimensions() throws {
        #expect(throws: UsageError.self) { try AttentionShape(batch: 1, heads: 6, kvHeads: 4, seq: 8, headDim: 64, causal: false) }
        #expect(throws: UsageError.self) { try AttentionShape(batch: 1, heads: 8, kvHeads: 8, seq: 0, headDim: 64, causal: false) }
        #expect(throws: UsageError.self) { try AttentionShape(batch: 1 << 20, heads: 64, kvHeads: 8, seq: 1 << 20, headDim: 128, causal: false) }
        #expect(try Self.shape(1, 8, 8, 2048, 64, causal: true).flops == 2 * 8 * 2048 * 2048 * 64)
    }
}

@Suite struct TrainingStepTests {
    /// gpt2-124m at 1024 tokens, counted by hand: per layer the linear weights are 12·d² =
    /// 7,077,888 (QKV 768x2304, out 768x768, MLP 768x3072 twice), each used in three GEMMs of
    /// 2 FLOP per weight per token; the LM head 768 x 50257; attention 2·H·S·D per token forward
    /// (causal) and 2.5 times that backward.
    @Test func gpt2FLOPsMatchTheHandCount() throws {
        let step = try TrainingStep(
            model: try TransformerModel.named("gpt2-124m"), seq: 1024, microBatch: 1, tensorParallel: 1, dtype: .bf16)
        let perLayerLinear = 6.0 * 7_077_888
        let lmHead = 6.0 * 768 * 50257
        let attention = 2.0 * 12 * 1024 * 64 * 3.5
        #expect(step.modelFlopsPerToken == 12 * (perLayerLinear + attention) + lmHead)
        #expect(step.modelFlopsPerToken == 807_252_480)
        let qkv = try #require(step.linears.first)
        #expect(step.gemms(qkv).map(\.description) == [
            "gemm bf16 NT 1024x2304x768", "gemm bf16 NN 1024x768x2304", "gemm bf16 TN 2304x768x1024",
        ])
        #expect(step.linears.map(\.name) == ["qkv", "attention-out", "mlp-up", "mlp-down", "lm-head"])
        #expect(step.attention.shape == (try AttentionShape(batch: 1, heads: 12, kvHeads: 12, seq: 1024, headDim: 64, causal: true)))
    }

    @Test func tensorParallelismSplitsHeadsAndColumns() throws {
        let step = try TrainingStep(
            model: try TransformerModel.named("llama3-8b"), seq: 2048, microBatch: 2, tensorParallel: 4, dtype: .bf16)
        #expect(step.linears.map(\.outputs) == [(32 + 16) * 128 / 4, 4096, 14336 / 4, 14336 / 4, 4096, 128_256 / 4])
        #expect(step.attention.shape.heads == 8 && step.attention.shape.kvHeads == 2 && step.tokens == 4096)
        #expect(throws: UsageError.self) {
            try TrainingStep(model: try TransformerModel.named("llama3-8b"), seq: 2048, microBatch: 1, tensorParallel: 3, dtype: .bf16)
        }
    }

    @Test func aModelComesFromAFileAndBadOnesAreRefused() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"name":"tiny","hiddenSize":64,"heads":4,"kvHeads":2,"headDim":16,"mlpSize":128,"gatedMLP":true,"layers":2,"vocabSize":100}"#.utf8).write(to: file)
        #expect(try TransformerModel.named(file.path).kvHeads == 2)
        try Data(#"{"name":"tiny"}"#.utf8).write(to: file)
        #expect(throws: UsageError.self) { try TransformerModel.named(file.path) }
        #expect(throws: UsageError.self) { try TransformerModel.named("gpt5") }
    }

    @Test func theBreakdownAddsTheMeasuredParts() throws {
        let step = try TrainingStep(
            model: try TransformerModel.named("gpt2-124m"), seq: 64, microBatch: 1, tensorParallel: 1, dtype: .fp32)
        let device = DeviceDescriptor(hostCPU: "test", vendor: nil, blasBuild: "none", cores: 1, memoryBytes: 1 << 30)
        let workloads = step.suite(sampling: Suite.named(.quick).sampling).workloads
        let results = workloads.map { workload -> CaseResult in
            var result = CaseResult(workload, device: device, implementation: "scripted", status: .ok)
            let median = 1e-3
            result.stats = CaseResult.TimingStats(
                unit: "s", kernel: Statistics([median, median, median])!, wall: Statistics([median, median, median])!, repetitions: [])
            return result
        }
        let breakdown = TrainingBreakdown(step: step, device: device.id, results: results, roofline: Roofline(device: device.id, peaks: [], theoretical: []))
        let roofline = Roofline(device: device.id, peaks: [], theoretical: [])
        #expect(breakdown.missing.isEmpty)
        // Five linears of three GEMMs each at 1 ms (four per layer); attention 1 ms forward and 1 ms backward, measured;
        // the layer ops at 1 ms a pass: two layernorms, one GELU and two residual adds per layer, the final
        // norm and the cross-entropy once per step.
        #expect(abs(breakdown.layerSeconds! - (4 * 3 + 1 + 1 + 2 * 5) * 1e-3) < 1e-12)
        #expect(abs(breakdown.stepSeconds! - (12 * 24 + 3 + 2 * 2) * 1e-3) < 1e-12)
        #expect(breakdown.parts.allSatisfy { !$0.estimated })
        let sum = breakdown.parts.reduce(0) { $0 + $1.seconds * ($1.perLayer ? 12 : 1) }
        #expect(abs(sum - breakdown.stepSeconds!) < 1e-12 && abs(breakdown.parts.reduce(0) { $0 + $1.share } - 100) < 1e-9, "the parts sum to the step")
        #expect(breakdown.parts.map(\.name).suffix(5) == ["layernorm x2", "gelu", "residual x2", "final-layernorm", "cross-entropy"])
        // Without a backward result, the backward is the forward's time x 2.5, labelled.
        let forwardOnly = results.filter { $0.attentionPass != .backward }
        let estimated = TrainingBreakdown(step: step, device: device.id, results: forwardOnly, roofline: roofline)
        #expect(abs(estimated.layerSeconds! - (4 * 3 + 1 + 2.5 + 2 * 5) * 1e-3) < 1e-12)
        #expect(estimated.parts.first { $0.name == "attention-backward" }?.estimated == true)
        let noLayerOps = TrainingBreakdown(step: step, device: device.id, results: results.filter { $0.kernel != .layer }, roofline: roofline)
        #expect(noLayerOps.missing == ["layernorm", "gelu", "residual", "final-layernorm", "cross-entropy"] && noLayerOps.stepSeconds == nil)
        let partial = TrainingBreakdown(step: step, device: device.id, results: results.filter { $0.attention == nil }, roofline: roofline)
        #expect(partial.missing == ["attention"] && partial.stepSeconds == nil)
        // A layer op reads against the copies timed beside its passes: each pass's bytes at its copy's speed.
        let gelu = try #require(step.layerOps.first { $0.name == "gelu" })
        let passes = [gelu.forward, gelu.forward.with(pass: .backward)]
        let besideCopies = results.map { result -> CaseResult in
            var copied = result
            if let layerOp = result.layerOp { copied.adjacentCopyGBs = layerOp.pass == .forward ? 100 : 50 }
            return copied
        }
        let copyTime = passes[0].minimumTrafficBytes / 100e9 + passes[1].minimumTrafficBytes / 50e9
        let read = TrainingBreakdown(step: step, device: device.id, results: besideCopies, roofline: roofline)
        let percent = try #require(read.parts.first { $0.name == "gelu" }?.percentOfCopyBandwidth)
        #expect(abs(percent - copyTime / 2e-3 * 100) < 1e-9)
        // Without them, the probe's copy bandwidth; without either, none.
        let probe = Roofline(
            device: device.id, peaks: [PeakMeasurement(device: device.id, probe: .memoryBandwidth, variant: "copy", samples: [80], configuration: "")],
            theoretical: [])
        let probed = TrainingBreakdown(step: step, device: device.id, results: results, roofline: probe)
        let probePercent = try #require(probed.parts.first { $0.name == "gelu" }?.percentOfCopyBandwidth)
        #expect(abs(probePercent - (passes[0].minimumTrafficBytes + passes[1].minimumTrafficBytes) / 80e9 / 2e-3 * 100) < 1e-9)
        #expect(breakdown.parts.first { $0.name == "gelu" }?.percentOfCopyBandwidth == nil)
    }
}
