import Foundation
import Testing

@testable import NodeBenchKit

/// The flash kernel's tunable shapes on the real PoCL device: every candidate either space can
/// pick is correct on odd, grouped-query, causal and non-causal cases; tuning finds a verified one,
/// `run` uses it, and tuning files keep it.
@Suite(.serialized) struct FlashTuningTests {
    static func backend(tuned: TunedParameters = TunedParameters()) throws -> OpenCLAttentionBackend {
        let inventory = AttentionTests.inventory
        let device = try #require(inventory.devices.first { $0.backend == .opencl }, "scripts/setup installs PoCL")
        return try OpenCLAttentionBackend(device: try inventory.openCL(device), flash: true, tuned: tuned)
    }

    @Test(arguments: [true, false])
    func everyCandidateIsCorrectOnOddCases(causal: Bool) throws {
        let backend = try Self.backend()
        // Blocks of one and three key panels: the work-group meets at a barrier after each, and
        // its work-items past the last row (S=29) and, causal, past their diagonal take part.
        let space = FlashTuner.searchSpace(isCPU: true, nativeFloats: 16, headDim: 40, maxWorkGroupSize: 4096)
            + FlashTuner.searchSpace(isCPU: false, nativeFloats: 1, headDim: 40, maxWorkGroupSize: 4096)
            + [1, 3].map { FlashKernelParameters(tileRows: 2, vectorWidth: 8, groupSize: 4, keyBlock: $0) }
        let inputs = AttentionInputs(
            attention: AttentionCase(shape: try AttentionTests.shape(1, 4, 2, 29, 40, causal: causal), dtype: .bf16), seed: 2)
        let reference = AttentionReference(inputs)
        for parameters in Set(space) {
            let prepared = try backend.prepare(inputs, flashParameters: parameters, parameterSource: "test")
            _ = try prepared.execute()
            let verification = reference.verify(try prepared.result())
            #expect(verification.passed, "\(parameters): error \(verification.maxAbsError)")
        }
    }

    @Test func searchSpacesRespectTheDeviceAndBadParametersAreRefused() throws {
        let space = FlashTuner.searchSpace(isCPU: false, nativeFloats: 1, headDim: 128, maxWorkGroupSize: 64)
        #expect(!space.isEmpty && space.allSatisfy { $0.groupSize <= 64 })
        #expect(
            FlashTuner.searchSpace(isCPU: true, nativeFloats: 8, headDim: 128, maxWorkGroupSize: 4096).first
                == .defaults(isCPU: true, nativeFloats: 8, headDim: 128))
        // Twice the rows where vectors hold 16 floats: the accumulator still fits the register file.
        #expect(FlashKernelParameters.defaults(isCPU: true, nativeFloats: 8, headDim: 64).tileRows == 4)
        #expect(FlashKernelParameters.defaults(isCPU: true, nativeFloats: 16, headDim: 64).tileRows == 8)
        #expect(FlashKernelParameters.defaults(isCPU: true, nativeFloats: 16, headDim: 128).tileRows == 4)
        let inputs = AttentionInputs(attention: AttentionCase(shape: try AttentionTests.shape(1, 1, 1, 8, 16, causal: false), dtype: .fp32), seed: 1)
        #expect {
            try Self.backend().prepare(inputs, flashParameters: FlashKernelParameters(tileRows: 2, vectorWidth: 4, groupSize: 1), parameterSource: "test")
        } throws: { "\($0)".contains("vector width 4 is not 8 or 16") }
    }

    @Test func keyBlocksAreSearchedForTheChosenShapeUpToTheWholeSequence() {
        let chosen = FlashKernelParameters(tileRows: 2, vectorWidth: 16, groupSize: 4, keyBlock: 7)
        let space = FlashTuner.keyBlockSpace(chosen, seq: 8192)
        #expect(space.map(\.keyBlock) == [nil, 1, 4, 16, 64, 256], "the cache-size rule first, then blocks of up to 4096 keys")
        #expect(space.allSatisfy { $0.tileRows == 2 && $0.vectorWidth == 16 && $0.groupSize == 4 })
    }

    @Test func theTunerFindsAVerifiedShapeThatRunUses() throws {
        let inventory = AttentionTests.inventory
        let device = try #require(inventory.devices.first { $0.backend == .opencl })
        var steps: [FlashTuner.Progress] = []
        let entry = try #require(try FlashTuner(device: device, inventory: inventory).tune(dtype: .fp32, headDim: 64, budgetSeconds: 3) { steps.append($0) })
        #expect(!steps.isEmpty && entry.gflops > 0 && entry.headDim == 64)
        #expect(steps.contains { step in if case .success = step.outcome { step.parameters == entry.parameters } else { false } })
        var tuned = TunedParameters()
        tuned.record(entry)
        // Another storage type of the same head dimension uses it too; another head dimension does not.
        let backend = try Self.backend(tuned: tuned)
        let bf16 = AttentionCase(shape: try AttentionTests.shape(1, 1, 1, 8, 64, causal: true), dtype: .bf16)
        #expect(backend.parameters(for: bf16).0 == entry.parameters && backend.parameters(for: bf16).source.hasPrefix("tuned"))
        let other = AttentionCase(shape: try AttentionTests.shape(1, 1, 1, 8, 128, causal: true), dtype: .fp32)
        #expect(backend.parameters(for: other).source.hasPrefix("default"))
    }

    @Test func tuningFilesKeepFlashEntriesAndOlderFilesStillRead() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("flash-tuned-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let entry = TunedParameters.FlashEntry(
            device: "d", driver: "1", dtype: .fp16, headDim: 128, parameters: FlashKernelParameters(tileRows: 2, vectorWidth: 16, groupSize: 4),
            gflops: 10, tunedAt: "2026-01-01T00:00:00Z")
        try TunedParameters(flash: [entry]).save(to: url)
        #expect(try TunedParameters.load(from: url).flash == [entry])
        try Data(#"{"schemaVersion": 1, "entries": []}"#.utf8).write(to: url)
        #expect(try TunedParameters.load(from: url).flash.isEmpty)
    }
}
