import Foundation
import Testing

@testable import NodeBenchKit

/// What a run asks for, decided before anything runs: implied kernels, defaults, validation, and
/// the request a child run receives.
@Suite struct RunRequestTests {
    @Test func choicesImplyTheirKernel() {
        var request = RunRequest()
        #expect(request.selectedKernels == [.gemm, .attention, .layer])
        request.shapes = [GEMMShape(m: 8, n: 8, k: 8)]
        #expect(request.selectedKernels == [.gemm])
        request = RunRequest()
        request.attention.seqs = [128]
        #expect(request.selectedKernels == [.attention])
        request = RunRequest()
        request.implementations = [.flash]
        #expect(request.selectedKernels == [.attention])
        request.kernels = [.gemm, .attention]
        #expect(request.selectedKernels == [.gemm, .attention])
        request = RunRequest()
        request.layerOps.ops = [.rmsnorm]
        request.passes = [.backward]
        #expect(request.selectedKernels == [.layer], "a pass beside layer-op choices is the layer ops' pass")
        request = RunRequest()
        request.passes = [.backward]
        #expect(request.selectedKernels == [.attention])
    }

    @Test func unsetAttentionDimensionsTakeTheDefaults() throws {
        var request = RunRequest()
        request.attention.heads = 4
        request.attention.headDims = [64, 128]
        let shapes = try request.attention.shapes()
        #expect(shapes == [
            try AttentionShape(batch: 1, heads: 4, kvHeads: 4, seq: 1024, headDim: 64, causal: false),
            try AttentionShape(batch: 1, heads: 4, kvHeads: 4, seq: 1024, headDim: 128, causal: false),
        ])
        let suite = try request.cases()
        #expect(suite.cases.isEmpty && Set(suite.attentionCases.map(\.shape)) == Set(shapes))
        #expect(suite.sampling.repetitions == Suite.named(.standard).sampling.repetitions)
    }

    @Test func badRequestsSayWhatIsWrongInOneLine() {
        func problem(_ change: (inout RunRequest) -> Void) -> String? {
            var request = RunRequest()
            change(&request)
            do {
                try request.validate()
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem { _ in } == nil)
        #expect(problem { $0.repetitions = 0 } == "--repetitions must be from 1 to 1000")
        #expect(problem { $0.caseTimeout = 0 } == "--case-timeout must be from 0 to 86400 seconds")
        #expect(problem { $0.beta = .nan } == "--alpha and --beta must be finite numbers")
        #expect(problem {
            $0.kernels = [.attention]
            $0.dtypes = [.fp64]
        } == "attention runs fp32, fp16 and bf16; --dtype fp64 leaves it nothing")
        #expect(problem { $0.model = .init(name: "no-such-model") }?.hasPrefix("unknown model 'no-such-model'") == true)
        #expect(problem {
            $0.model = .init(name: "gpt2-124m")
            $0.attention.seqs = [128, 256]
        } == "--model takes one --seq and one --dtype")
    }

    @Test func aChildRunReceivesTheWholeRequest() throws {
        var request = RunRequest()
        request.suite = .quick
        request.dtypes = [.fp32]
        request.attention.causal = true
        request.model = .init(name: "gpt2-124m", microBatch: 2)
        request.blasCoreType = "Haswell"
        request.slowdowns = [try InjectedSlowdown(parsing: "openblas=1.10")]
        request.faults = [try PlannedFault(parsing: "hang=nodebench")]
        #expect(try RunRequest(decoding: try request.encoded()) == request)

        let child = request.hostRerun
        #expect(child.implementations == [.openblas] && child.devices == [DeviceDescriptor.hostID])
        #expect(!child.measurePeaks && child.blasCoreType == nil)
        #expect(try child.cases().workloads == (try request.cases()).workloads)

        #expect(throws: UsageError.self) { try RunRequest(decoding: "{\"suite\": \"quick\"}") }
    }
}
