import Foundation
import Testing

@testable import NodeBenchKit

/// The attention backward pass: the gradient reference against finite differences of the
/// definition, and the flash backward of the host and of the real PoCL device against the
/// reference on odd sequence lengths, grouped-query heads, causal masking and every storage type.
@Suite struct AttentionBackwardTests {
    static func inputs(_ b: Int, _ h: Int, _ kv: Int, _ s: Int, _ d: Int, causal: Bool, dtype: DType = .fp32, seed: UInt64 = 5) throws -> AttentionInputs {
        let shape = try AttentionTests.shape(b, h, kv, s, d, causal: causal)
        return AttentionInputs(attention: AttentionCase(shape: shape, dtype: dtype, pass: .backward), seed: seed)
    }

    /// [dQ, dK, dV] of L = Σ dO·O by central differences of the definition, one element at a time.
    static func finiteDifferences(_ inputs: AttentionInputs) -> [Double] {
        let step = 1e-6
        func loss(_ q: [Double], _ k: [Double], _ v: [Double]) -> Double {
            let forward = AttentionInputs(attention: inputs.attention, q: q, k: k, v: v, gradOutput: inputs.gradOutput)
            return zip(AttentionTests.definition(forward), inputs.gradOutput).map { $0 * $1 }.reduce(0, +)
        }
        var gradient: [Double] = []
        for tensor in 0..<3 {
            let values = [inputs.q, inputs.k, inputs.v][tensor]
            for index in values.indices {
                var operands = [inputs.q, inputs.k, inputs.v], lower = operands
                operands[tensor][index] += step
                lower[tensor][index] -= step
                gradient.append((loss(operands[0], operands[1], operands[2]) - loss(lower[0], lower[1], lower[2])) / (2 * step))
            }
        }
        return gradient
    }

    @Test(arguments: [true, false])
    func theReferenceIsTheDerivativeOfTheDefinitionAndCatchesSmallErrors(causal: Bool) throws {
        let inputs = try Self.inputs(1, 4, 2, 7, 4, causal: causal)
        let reference = AttentionGradientReference(inputs)
        var gradient = Self.finiteDifferences(inputs)
        let check = reference.verify(gradient)
        #expect(check.passed && check.method == "full", "\(check)")
        #expect(check.maxAbsError < 1e-7)
        // One element of dK wrong by 1e-4: far above fp32 rounding, far below any visible bug.
        gradient[inputs.attention.shape.queryElements + 5] += 1e-4
        #expect(!reference.verify(gradient).passed)
    }

    @Test func largeCasesAreCheckedOnSampledRowsOfEveryGradient() throws {
        let inputs = try Self.inputs(1, 2, 1, 96, 8, causal: true)
        let full = AttentionGradientReference(inputs)
        let sampled = AttentionGradientReference(inputs, budget: 96 * 8 * 3 * 20)
        #expect(full.method == "full")
        #expect(sampled.method == "sampled: dQ of 20 query rows, dK and dV of 64 key rows of 1 key/value heads", "\(sampled.method)")
        let tiny = AttentionGradientReference(inputs, budget: 96 * 8 * 3 * 20, keyBudget: 1_000)
        #expect(tiny.method.contains("dK and dV unchecked"), "\(tiny.method)")
        // The host's flash backward, checked whole by the full reference, stands in for the exact gradient.
        let host = try HostAttentionBackend(device: AttentionTests.inventory.devices[0], fused: true).prepare(inputs)
        _ = try host.execute()
        var gradient = try host.result()
        #expect(full.verify(gradient).passed && sampled.verify(gradient).passed)
        // The first key row of the first head is always among those checked.
        gradient[inputs.attention.shape.queryElements + inputs.attention.shape.keyElements] += 1e-3
        #expect(!sampled.verify(gradient).passed)
    }

    @Test func theBackwardCountsTheFieldsFLOPsAndNamesItself() throws {
        let inputs = try Self.inputs(1, 8, 8, 2048, 64, causal: true)
        let backward = inputs.attention
        #expect(backward.flops == 2.5 * backward.shape.flops)
        #expect(backward.description == "attention fp32 b1 h8 s2048 d64 causal backward")
        #expect(backward.flopsModel.hasPrefix("2.5 x the forward's"))
        #expect(backward.outputElements == 3 * 8 * 2048 * 64)
        let result = CaseResult(.attention(backward), device: AttentionTests.inventory.devices[0], implementation: "flash", status: .ok)
        #expect(result.workload == .attention(backward), "a result file says which pass it measured")
    }

    /// Every backward on this node, fused and unfused, against the reference: odd S, grouped-query
    /// heads, causal or not, every storage type.
    @Test(arguments: AttentionCase.dtypes)
    func everyBackwardMatchesTheReference(dtype: DType) throws {
        let factory = BackendFactory(inventory: AttentionTests.inventory, tuned: TunedParameters()) { _ in }
        for causal in [true, false] {
            let inputs = try Self.inputs(2, 4, 2, 37, 24, causal: causal, dtype: dtype)
            let reference = AttentionGradientReference(inputs)
            for device in AttentionTests.inventory.devices {
                for implementation in [Implementation.flash, .naive] {
                    let backend = try #require(try factory.make(implementation, for: device) as? AttentionBackend)
                    let kernel = try backend.prepare(inputs)
                    _ = try kernel.execute()
                    let first = try kernel.result()
                    let check = reference.verify(first)
                    #expect(check.passed, "\(device.id) \(implementation) causal \(causal): \(check)")
                    _ = try kernel.execute()
                    #expect(try kernel.result() == first, "\(device.id) \(implementation): a second execution gives the same gradients")
                }
            }
        }
    }

    /// The host's one sweep in several runs of key blocks per key/value head, each run past the
    /// first adding its dQ rows into a partial summed after: odd S over three 256-key blocks, a
    /// head group of two, both maskings. A second execution gives the same gradients.
    @Test func theHostsRunsOfKeyBlocksSumTheirDQ() throws {
        func runs(_ h: Int, _ kv: Int, _ s: Int, cores: Int) throws -> Int {
            HostPreparedAttentionBackward.keyRuns(try AttentionTests.shape(1, h, kv, s, 8, causal: false), cores: cores)
        }
        #expect(try runs(2, 1, 600, cores: 2) == 3)  // one per key block
        #expect(try runs(8, 8, 2048, cores: 2) == 1)  // eight heads already give each core four tasks
        #expect(try runs(8, 2, 2048, cores: 2) == 4)
        #expect(try runs(1, 1, 32768, cores: 64) == 8)  // at most eight
        let host = try HostAttentionBackend(device: AttentionTests.inventory.devices[0], fused: true)
        for causal in [true, false] {
            let inputs = try Self.inputs(1, 2, 1, 600, 8, causal: causal)
            let kernel = try host.prepare(inputs)
            #expect(kernel.notes.joined().contains("3 run(s) of key blocks per key/value head"), "\(kernel.notes)")
            // The memory check counts the two partials beside the fp32 tensors and the blocks.
            let shape = inputs.attention.shape
            let tensors = Double(4 * shape.queryElements + 4 * shape.keyElements) * 8
            let blocks = Double(ProcessInfo.processInfo.activeProcessorCount * 256 * (512 + 8) * 4)
            #expect(host.workingBytes(inputs.attention) == tensors + blocks + Double(2 * shape.queryElements * 4))
            _ = try kernel.execute()
            let first = try kernel.result()
            let check = AttentionGradientReference(inputs).verify(first)
            #expect(check.passed && check.method == "full", "causal \(causal): \(check)")
            _ = try kernel.execute()
            #expect(try kernel.result() == first, "causal \(causal): a second execution gives the same gradients")
        }
    }

    /// Both ways to dQ on the PoCL device, whichever its type would take: one sweep over the keys
    /// adding into per-work-item partials (four of them here, summed), in query blocks of one or
    /// two panels (dK and dV carried from block to block, causal blocks before a key's first query
    /// skipped), and a second sweep over the queries; CPU-sized and GPU-sized tiles. A second
    /// execution gives the same gradients: the partials and carried sums start from zero each time.
    @Test(arguments: [1, 2])
    func bothWaysToDQMatchTheReference(sweeps: Int) throws {
        let device = try #require(AttentionTests.inventory.devices.first { $0.backend == .opencl }, "scripts/setup installs PoCL")
        let openCL = try AttentionTests.inventory.openCL(device).device
        // The last takes 3 key rows, as a tuning file may set them apart from the query rows.
        for (tileRows, width, keyRows) in [(8, 16, nil), (2, 8, nil), (2, 8, 3)] as [(Int, Int, Int?)] {
            let parameters = FlashKernelParameters(
                tileRows: tileRows, vectorWidth: width, groupSize: 2, backwardSweeps: sweeps, queryBlock: width == 16 ? 1 : 2, keyRows: keyRows)
            let entry = TunedParameters.FlashEntry(
                device: openCL.name, driver: openCL.driverVersion, dtype: .bf16, headDim: 24, parameters: parameters, gflops: 1, tunedAt: "test")
            let backend = try FlashTuningTests.backend(tuned: TunedParameters(flash: [entry]))
            for causal in [true, false] {
                let inputs = try Self.inputs(1, 4, 2, 37, 24, causal: causal, dtype: .bf16)
                let kernel = try backend.prepare(inputs)
                let plan = sweeps == 1
                    ? "one sweep over the keys, \(keyRows ?? tileRows) key rows at a time against blocks of 16 query rows"
                    : "\(keyRows ?? tileRows) key rows per work-item for dK and dV, \(tileRows) query rows per work-item for dQ"
                #expect(kernel.notes.joined().contains(plan), "\(kernel.notes)")
                _ = try kernel.execute()
                let first = try kernel.result()
                let check = AttentionGradientReference(inputs).verify(first)
                #expect(check.passed, "\(parameters) causal \(causal): \(check)")
                _ = try kernel.execute()
                #expect(try kernel.result() == first, "\(parameters) causal \(causal): a second execution gives the same gradients")
                // Seven products in two sweeps (scores and dP twice), five in one.
                let (sweepStages, products) = sweeps == 1 ? (["sweep: dK, dV, dQ partials", "dQ partials summed"], 5.0) : (["dK, dV sweep", "dQ sweep"], 7.0)
                #expect(kernel.stages.map(\.name) == ["packing", "D = rowsum(dO·O)"] + sweepStages)
                #expect(kernel.stages.compactMap(\.flops).reduce(0, +) == products / 2 * inputs.attention.shape.flops)
            }
        }
    }

    /// The paths time their parts apart, both passes: the unfused ones on the host and on PoCL, and
    /// flash on PoCL (the host's flash has none). The unfused products count the FLOPs of their
    /// whole matrices, which make the forward's count (no mask) and twice it for the backward's
    /// four; the flash kernel counts the forward's, the one-sweep backward (PoCL's plan) five
    /// products, 2.5x the forward's.
    @Test func thePathsTimeTheirPartsApart() throws {
        let openCL = try #require(AttentionTests.inventory.devices.first { $0.backend == .opencl }, "scripts/setup installs PoCL")
        let host = AttentionTests.inventory.devices[0]
        let factory = BackendFactory(inventory: AttentionTests.inventory, tuned: TunedParameters()) { _ in }
        let backward = try Self.inputs(1, 4, 2, 37, 24, causal: false)
        let forward = AttentionInputs(attention: AttentionCase(shape: backward.attention.shape, dtype: .fp32), seed: 5)
        let flops = backward.attention.shape.flops
        for (device, implementation, inputs, names, stageFlops) in [
            (openCL, Implementation.naive, forward, ["S = scale·Q·Kᵀ", "softmax", "O = P·V"], flops),
            (openCL, .naive, backward, ["dV = Pᵀ·dO", "dP = dO·Vᵀ", "softmax backward", "dQ = scale·dS·K", "dK = scale·dSᵀ·Q"], 2 * flops),
            (openCL, .flash, forward, ["packing", "fused kernel"], flops),
            (openCL, .flash, backward, ["packing", "D = rowsum(dO·O)", "sweep: dK, dV, dQ partials", "dQ partials summed"], 2.5 * flops),
            (host, .naive, forward, ["S = scale·Q·Kᵀ", "softmax", "O = P·V"], flops),
            (host, .naive, backward, ["dV = Pᵀ·dO", "dP = dO·Vᵀ", "softmax backward", "dQ = dS·K", "dK = dSᵀ·Q"], 2 * flops),
            (host, .flash, forward, [], 0),
        ] {
            let backend = try #require(try factory.make(implementation, for: device) as? AttentionBackend)
            let kernel = try backend.prepare(inputs)
            #expect(kernel.stages.isEmpty, "nothing timed yet")
            for _ in 0..<3 { _ = try kernel.execute() }
            #expect(kernel.stages.map(\.name) == names, "\(device.id) \(implementation)")
            #expect(kernel.stages.compactMap(\.flops).reduce(0, +) == stageFlops)
            #expect(kernel.stages.allSatisfy { $0.medianSeconds > 0 }, "\(kernel.stages)")
        }
    }

    @Test func theOneSweepBackwardIsForCPUsAndGivesEveryComputeUnitWork() throws {
        let cpu = FlashKernelParameters.defaults(isCPU: true, nativeFloats: 16, headDim: 64)
        let gpu = FlashKernelParameters.defaults(isCPU: false, nativeFloats: 1, headDim: 64)
        #expect(cpu.backwardSweeps(isCPU: true) == 1 && gpu.backwardSweeps(isCPU: false) == 2)
        #expect(FlashKernelParameters(tileRows: 2, vectorWidth: 16, groupSize: 32, backwardSweeps: 1).backwardSweeps(isCPU: false) == 1)
        #expect(cpu.backwardKeyRows(isCPU: true) == cpu.tileRows && gpu.backwardKeyRows(isCPU: false) == 1)
        // Key rows set apart (by `tune`) hold on either device type; outside 1...16 they are refused.
        let apart = FlashKernelParameters(tileRows: 4, vectorWidth: 8, groupSize: 1, keyRows: 2)
        #expect(apart.backwardKeyRows(isCPU: true) == 2 && apart.backwardKeyRows(isCPU: false) == 2)
        #expect(FlashKernelParameters(tileRows: 4, vectorWidth: 8, groupSize: 1, keyRows: 17).violation(maxWorkGroupSize: 64) == "key rows 17 outside 1...16")
        // About four work-items per compute unit, at most eight partials, at most one per key block.
        #expect(cpu.backwardChunks(seq: 2048, keyValueHeads: 8, computeUnits: 2, isCPU: true) == 1)
        #expect(cpu.backwardChunks(seq: 2048, keyValueHeads: 2, computeUnits: 2, isCPU: true) == 4)
        #expect(cpu.backwardChunks(seq: 2048, keyValueHeads: 1, computeUnits: 64, isCPU: true) == 8)
        #expect(cpu.backwardChunks(seq: 20, keyValueHeads: 1, computeUnits: 64, isCPU: true) == 3)
        // Query blocks of the one sweep: about 256 KiB of Q, dO and dQ rows (20 bytes per element), or as set.
        #expect(FlashKernelParameters.defaults(isCPU: true, nativeFloats: 8, headDim: 128).backwardQueryBlockPanels(128) == 12)
        #expect(cpu.backwardQueryBlockPanels(64) == 12 && cpu.backwardQueryBlockPanels(4096) == 1)
        #expect(FlashKernelParameters(tileRows: 4, vectorWidth: 8, groupSize: 1, queryBlock: 3).backwardQueryBlockPanels(128) == 3)
        #expect(FlashKernelParameters(tileRows: 4, vectorWidth: 8, groupSize: 1, queryBlock: 0).violation(maxWorkGroupSize: 64) == "query block 0 is not a positive number of panels")
        // Padding: whole panels, query blocks and key blocks, not their product.
        #expect(FlashKernelParameters(tileRows: 12, vectorWidth: 16, groupSize: 1).backwardPaddedRows(50, isCPU: true) == 96)
        #expect(FlashKernelParameters(tileRows: 2, vectorWidth: 16, groupSize: 1, backwardSweeps: 3).violation(maxWorkGroupSize: 64) == "backward sweeps 3 is not 1 or 2")
    }
}
