import Foundation
import Testing

@testable import NodeBenchKit

/// Executions counted across every scripted kernel, so a test can make the whole machine slow for
/// a while, as a neighbour's burst does.
final class ScriptedMachine {
    var executions = 0
    var slowExecutions: Range<Int> = 0..<0

    func execute() -> SampleTime {
        defer { executions += 1 }
        let seconds = slowExecutions.contains(executions) ? 1.5e-3 : 1e-3
        return SampleTime(kernelSeconds: seconds, wallSeconds: 2 * seconds)
    }
}

/// A backend whose results and failures the test chooses.
final class ScriptedBackend: GEMMBackend {
    enum Behaviour { case correct, wrong, nan, outOfMemory, unsupported, zeroTime, unrepeatable, upsetWhileTimed, stuckBit, staged }
    let device: DeviceDescriptor
    let behaviour: Behaviour
    let machine: ScriptedMachine
    var implementation: String { "scripted" }

    init(_ behaviour: Behaviour, id: String, machine: ScriptedMachine = ScriptedMachine()) {
        self.machine = machine
        var device = DeviceDescriptor(hostCPU: "test", vendor: nil, blasBuild: "none", cores: 1, memoryBytes: 1 << 30)
        device.id = id
        self.device = device
        self.behaviour = behaviour
    }

    func unsupportedReason(_ gemm: GEMMCase) -> String? { behaviour == .unsupported ? "not on this device" : nil }

    func prepare(_ inputs: GEMMInputs) throws -> PreparedKernel {
        if behaviour == .outOfMemory { throw ScriptedError.outOfMemory }
        var result = VerificationTests.naive(inputs)
        if behaviour == .wrong { result[result.count - 1] += 1 }
        if behaviour == .nan { result[0] = .nan }
        // A unit wrong the same way every time: inside the tolerance, repeatable.
        if behaviour == .stuckBit { result[0] = Double(bitPattern: result[0].bitPattern ^ 1) }
        return Prepared(result, machine: machine, behaviour: behaviour)
    }

    private final class Prepared: PreparedKernel {
        var output: [Double]
        let machine: ScriptedMachine
        let behaviour: Behaviour
        let notes = ["scripted"]
        var executions = 0
        /// `.staged`: a product of 1 MFLOP taking a quarter of each execution, then a softmax.
        let stageTimes = StageTimes([.init(name: "product", flops: 1e6, launchCount: 2), .init(name: "softmax", flops: nil, launchCount: 1)])
        var stages: [CaseResult.Stage] { behaviour == .staged ? stageTimes.summaries : [] }
        init(_ output: [Double], machine: ScriptedMachine, behaviour: Behaviour) {
            self.output = output
            self.machine = machine
            self.behaviour = behaviour
        }
        func execute() throws -> SampleTime {
            // An upset in one execution: its output's lowest bit flips, far inside any tolerance.
            if behaviour == .unrepeatable { output[0] = Double(bitPattern: output[0].bitPattern ^ 1) }
            // An upset in the fourth execution: after the verifying two, inside the first repetition.
            executions += 1
            if behaviour == .upsetWhileTimed && executions == 4 { output[0] = Double(bitPattern: output[0].bitPattern ^ 1) }
            if behaviour == .zeroTime { return SampleTime(kernelSeconds: 0, wallSeconds: 0) }
            let time = machine.execute()
            stageTimes.record(launchSeconds: [time.kernelSeconds / 8, time.kernelSeconds / 8, time.kernelSeconds * 3 / 4])
            return time
        }
        func result() throws -> [Double] { output }
    }
}

enum ScriptedError: Error, CustomStringConvertible {
    case outOfMemory
    var description: String { "clCreateBuffer failed: CL_MEM_OBJECT_ALLOCATION_FAILURE" }
}

@Suite struct RunnerTests {
    static let sampling = SamplingPolicy(repetitions: 3, warmupRuns: 0, minSamples: 3, minSeconds: 0, maxSamples: 3, maxSeconds: 1)
    static let suite = Suite(
        name: "test", groups: [.init(shapes: [GEMMShape(m: 6, n: 5, k: 4), GEMMShape(m: 3, n: 3, k: 3)], layouts: [.nn], dtypes: [.fp32])],
        sampling: sampling)

    /// The last results the runner reported, and the order it timed cases in.
    static func run(
        _ behaviours: [ScriptedBackend.Behaviour], suite: Suite = suite, hostMemory: UInt64 = 1 << 34, machine: ScriptedMachine = ScriptedMachine()
    ) -> (results: [CaseResult], progress: [Runner.Progress]) {
        let backends: [Runner.DeviceBackend] = behaviours.enumerated().map { index, behaviour in
            let backend = ScriptedBackend(behaviour, id: "opencl:0:\(index)", machine: machine)
            return (backend.device, .nodebench, .success(backend))
        }
        var results: [CaseResult] = []
        var progress: [Runner.Progress] = []
        Runner(suite: suite, backends: backends, hostMemoryBytes: hostMemory, seed: 1).run(
            onStart: { progress.append($0) }, onResults: { results = $0 })
        return (results, progress)
    }

    @Test func correctResultsAreTimedAndReported() throws {
        let (results, _) = Self.run([.correct])
        #expect(results.count == 2)
        let first = try #require(results.first)
        #expect(first.status == .ok)
        #expect(first.verification?.passed == true)
        #expect(first.stats?.kernel.count == 9)  // 3 repetitions of 3 samples
        #expect(first.stats?.repetitions.map(\.round) == [1, 2, 3])
        #expect(first.stats?.wall.median == 2e-3)
        #expect(first.gflops == 2.0 * 6 * 5 * 4 / 1e-3 / 1e9)
        #expect(first.notes == ["scripted"])
        #expect(first.stages == nil, "one kernel has no stages")
    }

    @Test func aMultiKernelCaseReportsEachStagesMedianTime() throws {
        let (results, _) = Self.run([.staged])
        let stages = try #require(results.first?.stages)
        #expect(stages.map(\.name) == ["product", "softmax"])
        #expect(stages.map(\.medianSeconds) == [0.25e-3, 0.75e-3])
        #expect(stages[0].gflops == 1e6 / 0.25e-3 / 1e9)
        #expect(stages[1].flops == nil && stages[1].gflops == nil)
    }

    @Test func everyCaseIsVerifiedFirstThenTimedInShuffledRounds() throws {
        let shapes = (1...6).map { GEMMShape(m: $0, n: 4, k: 4) }
        let suite = Suite(name: "test", groups: [.init(shapes: shapes, layouts: [.nn], dtypes: [.fp32])], sampling: Self.sampling)
        let (_, progress) = Self.run([.correct], suite: suite)
        #expect(progress.prefix(6).allSatisfy { $0.step == .verify })
        let rounds = (1...3).map { round in progress.filter { $0.step == .repetition(round, of: 3) }.map { "\($0.workload)" } }
        #expect(rounds.allSatisfy { Set($0) == Set(shapes.map { "\(Workload.gemm(GEMMCase(shape: $0, layout: .nn, dtype: .fp32)))" }) })
        #expect(Set(rounds).count == 3, "each round has an order of its own")
    }

    @Test func aRoundTheWholeMachineRanSlowInIsMadeUpFor() throws {
        let shapes = (1...10).map { GEMMShape(m: $0, n: 4, k: 4) }
        let suite = Suite(name: "test", groups: [.init(shapes: shapes, layouts: [.nn], dtypes: [.fp32])], sampling: Self.sampling)
        // 10 verifying executions, then 30 per round: the second round is slow throughout.
        let machine = ScriptedMachine()
        machine.slowExecutions = 40..<70
        let (results, _) = Self.run([.correct], suite: suite, machine: machine)
        for result in results {
            let repetitions = try #require(result.stats?.repetitions)
            #expect(repetitions.map(\.round) == [1, 2, 3, 4])
            #expect(repetitions.map(\.disturbed) == [false, true, false, false])
            #expect(result.stats?.kernel.median == 1e-3 && result.stats?.kernel.count == 9)
        }
    }

    @Test func eachFailureIsRecordedAndTheRunGoesOn() throws {
        let (results, _) = Self.run([.wrong, .nan, .outOfMemory, .unsupported, .correct])
        #expect(results.count == 10)
        let byDevice = Dictionary(grouping: results, by: \.device).mapValues { $0[0] }
        let wrong = try #require(byDevice["opencl:0:0"])
        #expect(wrong.status == .failed && wrong.gflops == nil && wrong.stats == nil)
        #expect(wrong.verification?.passed == false)
        #expect(wrong.reason?.contains("differs from the fp64 reference") == true)
        let nan = try #require(byDevice["opencl:0:1"])
        #expect(nan.status == .failed && nan.reason == "1 NaN/Inf elements in the result")
        let outOfMemory = try #require(byDevice["opencl:0:2"])
        #expect(outOfMemory.status == .failed && outOfMemory.reason?.contains("CL_MEM_OBJECT_ALLOCATION_FAILURE") == true)
        let unsupported = try #require(byDevice["opencl:0:3"])
        #expect(unsupported.status == .skipped && unsupported.reason == "not on this device")
        #expect(byDevice["opencl:0:4"]?.status == .ok)
    }

    @Test func aResultTheSecondExecutionDoesNotReproduceFails() throws {
        let (results, _) = Self.run([.unrepeatable, .correct])
        let unrepeatable = results.filter { $0.device == "opencl:0:0" }
        #expect(unrepeatable.allSatisfy { $0.status == .failed && $0.verification?.passed == true && $0.gflops == nil })
        #expect(unrepeatable.allSatisfy { $0.reason?.hasPrefix("a second execution of the same inputs differs in 1 of") == true })
        #expect(results.filter { $0.device == "opencl:0:1" }.allSatisfy { $0.status == .ok })
    }

    @Test func anOutputThatChangesWhileTimedFailsItsCaseKeepingWhatWasTimed() throws {
        let (results, _) = Self.run([.upsetWhileTimed, .correct])
        let upset = results.filter { $0.device == "opencl:0:0" }
        for result in upset {
            #expect(result.status == .failed && result.verification?.passed == true && result.gflops == nil)
            #expect(result.reason?.hasPrefix("repetition 1: the output's checksum is ") == true, "\(result.reason ?? "")")
            #expect(result.reason?.hasSuffix("the device does not compute reproducibly") == true)
            #expect(result.stats?.repetitions.count == 1)
        }
        #expect(results.filter { $0.device == "opencl:0:1" }.allSatisfy { $0.status == .ok })
    }

    @Test func devicesThatComputeAlikeShareChecksumsAndOneWrongBitChangesIt() throws {
        let (results, _) = Self.run([.correct, .correct, .stuckBit])
        let byDevice = Dictionary(grouping: results, by: \.device)
        let checksums = ["opencl:0:0", "opencl:0:1", "opencl:0:2"].map { byDevice[$0]?.first?.outputChecksum }
        #expect(checksums.allSatisfy { $0?.count == 16 })
        #expect(checksums[0] == checksums[1])
        #expect(checksums[2] != checksums[0], "a bit the tolerance cannot see changes the checksum")
        #expect(byDevice["opencl:0:2"]?.allSatisfy { $0.status == .ok } == true)
        #expect(Set(results.map(\.outputChecksum)).count == 4, "the two shapes' outputs differ, and the stuck bit")
    }

    @Test func aDeviceThatReportsZeroTimeGivesNoThroughput() throws {
        let (results, _) = Self.run([.zeroTime])
        #expect(results.allSatisfy { $0.status == .failed && $0.gflops == nil && $0.reason?.contains("timer is too coarse") == true })
    }

    @Test func casesTooLargeForTheHostAreSkipped() throws {
        let (results, _) = Self.run([.correct], hostMemory: 100)
        #expect(results.allSatisfy { $0.status == .skipped && $0.reason?.contains("of host memory") == true })
    }

    @Test func aBackendThatCannotStartFailsItsCasesWithTheReason() throws {
        struct NoContext: Error, CustomStringConvertible { var description: String { "clCreateContext failed: CL_DEVICE_NOT_AVAILABLE" } }
        let device = ScriptedBackend(.correct, id: "opencl:1:0").device
        var results: [CaseResult] = []
        Runner(suite: Self.suite, backends: [(device, .nodebench, .failure(NoContext()))], hostMemoryBytes: 1 << 34, seed: 1).run(
            onStart: { _ in }, onResults: { results = $0 })
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.status == .failed && $0.reason == "device unusable: clCreateContext failed: CL_DEVICE_NOT_AVAILABLE" })
    }

    @Test func resultFilesAreWrittenWholeAfterEveryCase() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nodebench-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try ResultsFile(url: url)
        var document = RunDocument(
            tool: .current, suite: "test", seed: 1, sampling: Self.suite.sampling,
            node: NodeDescription(BackendTests.inventory))
        try file.write(document)
        for result in Self.run([.correct]).results {
            document.results.append(result)
            try file.write(document)
            // What is on disk at any moment is a complete document: an interrupted run keeps it.
            let onDisk = try JSONDecoder().decode(RunDocument.self, from: Data(contentsOf: url))
            #expect(onDisk.results == document.results)
            #expect(!onDisk.complete)
        }
    }

    @Test func defaultResultPathNamesHostAndTime() {
        let url = ResultsFile.defaultURL(host: "node 7/a", in: URL(fileURLWithPath: "/tmp/x"))
        #expect(url.path.hasPrefix("/tmp/x/results/runs/node_7_a-"))
        #expect(url.pathExtension == "json")
    }
}
