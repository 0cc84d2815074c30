import Foundation
import Testing

@testable import NodeBenchKit

/// The kernel family on the real PoCL device: parameter sets the tuner can pick are correct on
/// odd shapes in every layout and type; tuning results and compiled programs survive on disk.
@Suite(.serialized) struct GEMMKernelFamilyTests {
    /// `inventory`'s device, by default the one every test shares; a fresh discovery is a new
    /// process's, whose device has built no program yet.
    static func openCLBackend(programCache: ProgramCache? = nil, inventory: NodeInventory = BackendTests.inventory) throws -> OpenCLGEMMBackend {
        let device = try #require(inventory.devices.first { $0.backend == .opencl }, "scripts/setup installs PoCL")
        return try OpenCLGEMMBackend(device: try inventory.openCL(device), programCache: programCache)
    }

    /// Every thirteenth candidate of the AVX-512 CPU space, every ninth of the GPU space (both run
    /// on PoCL; odd strides, so tiles of one and of two column vectors), both CPU defaults, and a
    /// blocking small enough that the odd shapes take several k blocks over several launches and
    /// runs of row panels of two lengths, in groups with a work-item past the last run.
    static func sampledParameters(_ dtype: DType) -> [GEMMKernelParameters] {
        let cpu = GEMMTuner.searchSpace(isCPU: true, nativeFloats: 16, dtype: dtype, maxWorkGroupSize: 4096)
        let gpu = GEMMTuner.searchSpace(isCPU: false, nativeFloats: 1, dtype: dtype, maxWorkGroupSize: 4096)
        let sampled = cpu.enumerated().filter { $0.offset % 13 == 0 }.map(\.element) + gpu.enumerated().filter { $0.offset % 9 == 0 }.map(\.element)
        let smallBlocks = GEMMKernelParameters(tileRows: 4, vectorWidth: 8, groupColumns: 1, groupRows: 2, rowPanelsPerItem: 3, kBlock: 16, kSlice: 32)
        let extra = [GEMMKernelParameters.defaults(isCPU: true, nativeFloats: 8, dtype: dtype), smallBlocks]
        return sampled + extra.filter { !sampled.contains($0) }
    }

    @Test(arguments: DType.allCases)
    func everySampledParameterSetIsCorrectOnOddShapes(dtype: DType) throws {
        let backend = try Self.openCLBackend()
        for layout in GEMMLayout.allCases {
            // 293 rows: 74 row panels, which the small blocking takes in 25 runs of three or two on up to 30 compute units.
            for shape in [GEMMShape(m: 37, n: 19, k: 71), GEMMShape(m: 1, n: 3, k: 2), GEMMShape(m: 293, n: 37, k: 71)] {
                let inputs = GEMMInputs(gemm: GEMMCase(shape: shape, layout: layout, dtype: dtype), seed: 11)
                let reference = GEMMReference(inputs)
                for parameters in Self.sampledParameters(dtype) {
                    let prepared = try backend.prepare(inputs, parameters: parameters, parameterSource: "test")
                    _ = try prepared.execute()
                    let verification = reference.verify(try prepared.result())
                    #expect(verification.passed, "\(parameters) \(inputs.gemm): error \(verification.maxAbsError)")
                }
            }
        }
    }

    @Test func searchSpacesRespectTheDeviceAndStartFromTheDefault() {
        let space = GEMMTuner.searchSpace(isCPU: false, nativeFloats: 1, dtype: .fp32, maxWorkGroupSize: 128)
        #expect(space.allSatisfy { $0.groupColumns * $0.groupRows <= 128 })
        #expect(!space.isEmpty)
        for nativeFloats in [8, 16] {
            let cpu = GEMMTuner.searchSpace(isCPU: true, nativeFloats: nativeFloats, dtype: .fp64, maxWorkGroupSize: 4096)
            #expect(cpu.first == GEMMKernelParameters.defaults(isCPU: true, nativeFloats: nativeFloats, dtype: .fp64))
            #expect(Set(cpu).count == cpu.count)
            #expect(Set(cpu.map(\.columnVectors)) == [1, 2])
            #expect(cpu.contains { $0.rowPanelsPerItem > 1 && $0.kBlock > 0 && $0.groupRows == 1 })
        }
        #expect(space.allSatisfy { $0.rowPanelsPerItem == 1 && $0.kBlock == 0 })
        // AVX-512's 32 registers hold two column vectors of accumulators; AVX2's 16 do not.
        #expect(GEMMKernelParameters.defaults(isCPU: true, nativeFloats: 16, dtype: .fp32).columnVectors == 2)
        #expect(GEMMKernelParameters.defaults(isCPU: true, nativeFloats: 8, dtype: .fp32).columnVectors == 1)
        #expect(GEMMKernelParameters(tileRows: 4, vectorWidth: 3, groupColumns: 1, groupRows: 1).violation(maxWorkGroupSize: 64) != nil)
        #expect(GEMMKernelParameters(tileRows: 4, vectorWidth: 4, columnVectors: 5, groupColumns: 1, groupRows: 1).violation(maxWorkGroupSize: 64) != nil)
        #expect(GEMMKernelParameters(tileRows: 4, vectorWidth: 4, groupColumns: 1, groupRows: 1, rowPanelsPerItem: 0).violation(maxWorkGroupSize: 64) != nil)
        #expect(GEMMKernelParameters(tileRows: 4, vectorWidth: 4, groupColumns: 1, groupRows: 1, kBlock: -1).violation(maxWorkGroupSize: 64) != nil)
        // Each launch starts on a k block: packed A is laid out by them.
        #expect(GEMMKernelParameters(tileRows: 4, vectorWidth: 4, groupColumns: 1, groupRows: 1, kBlock: 16, kSlice: 24).violation(maxWorkGroupSize: 64) != nil)
        #expect(GEMMKernelParameters(tileRows: 4, vectorWidth: 4, groupColumns: 1, groupRows: 1, kSlice: 64).violation(maxWorkGroupSize: 64) != nil)
        #expect(GEMMKernelParameters(tileRows: 4, vectorWidth: 4, groupColumns: 1, groupRows: 1, kBlock: 16, kSlice: 64).violation(maxWorkGroupSize: 64) == nil)
    }

    @Test func aLongKRunsInSlicesThatCarryTheirSums() {
        let blocked = GEMMKernelParameters.defaults(isCPU: true, nativeFloats: 8, dtype: .fp32)
        func plan(k: Int) -> BatchedGEMM {
            BatchedGEMM(shape: GEMMShape(m: 512, n: 768, k: k), layout: .nn, batches: 2, parameters: blocked, accumulationBytes: 4)
        }
        #expect(blocked.kSlice == 4096)
        #expect(plan(k: 9000).kSlices == [0..<4096, 4096..<8192, 8192..<9000])
        #expect(plan(k: 9000).scratchBytes.partialSums == 2 * 516 * 768 * 4)  // 86 row panels of 6, 48 column panels of 16
        #expect(plan(k: 4096).kSlices == [0..<4096])
        #expect(plan(k: 4096).scratchBytes.partialSums == 0)
        let gpu = BatchedGEMM(
            shape: GEMMShape(m: 64, n: 64, k: 100_000), layout: .nn, batches: 1,
            parameters: .defaults(isCPU: false, nativeFloats: 1, dtype: .fp32), accumulationBytes: 4)
        #expect(gpu.kSlices == [0..<100_000])
    }

    @Test func workItemsTakeFewerRowPanelsWhereComputeUnitsWouldIdleAndRunsDifferByOneAtMost() {
        let blocked = GEMMKernelParameters.defaults(isCPU: true, nativeFloats: 8, dtype: .fp32)
        #expect(blocked.rowPanelsPerItem == 32 && blocked.tileRows == 6 && blocked.panelColumns == 16)
        func rowGroups(m: Int, n: Int, batches: Int = 1, computeUnits: Int) -> Int {
            BatchedGEMM(shape: GEMMShape(m: m, n: n, k: 64), layout: .nn, batches: batches, parameters: blocked, accumulationBytes: 4)
                .rowGroups(computeUnits: computeUnits)
        }
        #expect(rowGroups(m: 2048, n: 2048, computeUnits: 2) == 11)  // 342 x 128 panels: runs of 31 and 32, not ten of 32 and one of 22
        #expect(rowGroups(m: 512, n: 768, computeUnits: 2) == 3)  // 86 row panels: 29, 29, 28
        #expect(rowGroups(m: 2048, n: 64, computeUnits: 64) == 69)  // 342 x 4: at most 5 panels a run, 4 work-items per unit
        #expect(rowGroups(m: 2048, n: 64, batches: 8, computeUnits: 64) == 11)
        #expect(rowGroups(m: 37, n: 19, computeUnits: 2) == 7)  // one panel each
        #expect(rowGroups(m: 37, n: 19, computeUnits: 0) == 3)  // a device reporting no units counts as one
        let unblocked = BatchedGEMM(
            shape: GEMMShape(m: 100, n: 100, k: 64), layout: .nn, batches: 1,
            parameters: .defaults(isCPU: true, nativeFloats: 16, dtype: .fp32), accumulationBytes: 4)
        #expect(unblocked.rowGroups(computeUnits: 2) == 9)  // one work-item per row panel of 12
    }

    @Test func badParametersAreRefusedWithTheReason() throws {
        let backend = try Self.openCLBackend()
        let inputs = GEMMInputs(gemm: GEMMCase(shape: GEMMShape(m: 4, n: 4, k: 4), layout: .nn, dtype: .fp32), seed: 1)
        #expect {
            try backend.prepare(inputs, parameters: GEMMKernelParameters(tileRows: 4, vectorWidth: 16, groupColumns: 128, groupRows: 128), parameterSource: "test")
        } throws: { "\($0)".contains("exceeds the device's") }
    }

    @Test func theTunerReturnsAVerifiedCandidateWithinItsBudget() throws {
        let inventory = BackendTests.inventory
        let device = try #require(inventory.devices.first { $0.backend == .opencl })
        let tuner = try GEMMTuner(device: device, inventory: inventory)
        var steps: [GEMMTuner.Progress] = []
        let entry = try #require(tuner.tune(dtype: .fp32, layout: .nt, sizeClass: .small, budgetSeconds: 3) { steps.append($0) })
        #expect(!steps.isEmpty && steps.allSatisfy { $0.total == steps[0].total })
        // What a reported step measured for the kept parameters (the last, when the fastest was timed
        // again beside the default).
        #expect(entry.gflops > 0 && steps.contains { (try? $0.outcome.get()) == entry.gflops && $0.parameters == entry.parameters })
        let deviceName = try inventory.openCL(device).device.name
        #expect(entry.layout == .nt && entry.sizeClass == .small && entry.device == deviceName)
    }

    @Test func theTunerRefusesTheHost() throws {
        #expect(throws: UsageError.self) { try GEMMTuner(device: BackendTests.inventory.devices[0], inventory: BackendTests.inventory) }
    }

    @Test func compiledProgramsComeBackFromDiskAndABadFileIsRebuilt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nodebench-programs-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        var warnings: [String] = []
        let inputs = GEMMInputs(gemm: GEMMCase(shape: GEMMShape(m: 9, n: 21, k: 5), layout: .tn, dtype: .bf16), seed: 2)
        func run() throws -> (ProgramCache, Bool) {
            let cache = ProgramCache(directory: directory) { warnings.append($0) }
            let prepared = try Self.openCLBackend(programCache: cache, inventory: NodeInventory.discover()).prepare(inputs)
            _ = try prepared.execute()
            return (cache, GEMMReference(inputs).verify(try prepared.result()).passed)
        }
        let (first, firstPassed) = try run()
        #expect(firstPassed && first.misses == 1 && first.hits == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(files.count == 1)
        let (second, secondPassed) = try run()
        #expect(secondPassed && second.hits == 1 && second.misses == 0)

        try Data("garbage".utf8).write(to: directory.appendingPathComponent(files[0]))
        let (third, thirdPassed) = try run()
        #expect(thirdPassed && third.misses == 1)
        #expect(warnings.count == 1 && warnings[0].contains("corrupt or written for another program"))
        let (fourth, _) = try run()
        #expect(fourth.hits == 1)  // rewritten by the rebuild
    }
}

@Suite struct TunedParametersTests {
    static func entry(_ dtype: DType, _ layout: GEMMLayout, _ size: SizeClass, tileRows: Int = 8) -> TunedParameters.Entry {
        TunedParameters.Entry(
            device: "dev", driver: "1.0", dtype: dtype, layout: layout, sizeClass: size,
            parameters: GEMMKernelParameters(tileRows: tileRows, vectorWidth: 16, groupColumns: 2, groupRows: 2), gflops: 100,
            tunedAt: "2026-01-01T00:00:00Z")
    }

    @Test func sizeClasses() {
        #expect(SizeClass(GEMMShape(m: 256, n: 256, k: 256)) == .small)
        #expect(SizeClass(GEMMShape(m: 1024, n: 1024, k: 1024)) == .medium)
        #expect(SizeClass(GEMMShape(m: 4096, n: 4096, k: 1000)) == .large)
        #expect(SizeClass.allCases.allSatisfy { SizeClass($0.tuningShape) == $0 })
    }

    @Test func lookupPrefersTheLayoutThenFallsBack() {
        var tuned = TunedParameters()
        tuned.record(Self.entry(.fp32, .nn, .large, tileRows: 4))
        tuned.record(Self.entry(.fp32, .tn, .large, tileRows: 6))
        let large = GEMMShape(m: 2048, n: 2048, k: 2048)
        #expect(tuned.lookup(device: "dev", driver: "1.0", gemm: GEMMCase(shape: large, layout: .tn, dtype: .fp32))?.parameters.tileRows == 6)
        #expect(tuned.lookup(device: "dev", driver: "1.0", gemm: GEMMCase(shape: large, layout: .nt, dtype: .fp32)) != nil)
        #expect(tuned.lookup(device: "dev", driver: "2.0", gemm: GEMMCase(shape: large, layout: .nn, dtype: .fp32)) == nil)
        #expect(tuned.lookup(device: "dev", driver: "1.0", gemm: GEMMCase(shape: large, layout: .nn, dtype: .fp16)) == nil)
        tuned.record(Self.entry(.fp32, .nn, .large, tileRows: 12))
        #expect(tuned.entries.count == 2)
    }

    @Test func roundTripsThroughAFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tuned-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let tuned = TunedParameters(entries: [Self.entry(.bf16, .nt, .medium), Self.entry(.fp64, .nn, .small)])
        try tuned.save(to: url)
        #expect(try TunedParameters.load(from: url) == tuned)
        // Parameters written before tiles had column vectors, or work-items several row panels, read as one.
        let older = #"{"device": "dev", "driver": "1.0", "dtype": "fp32", "layout": "NN", "sizeClass": "large", "gflops": 1, "tunedAt": "t", "parameters": {"tileRows": 8, "vectorWidth": 16, "groupColumns": 1, "groupRows": 8}}"#
        try Data(#"{"schemaVersion": 1, "entries": [\#(older)]}"#.utf8).write(to: url)
        #expect(try TunedParameters.load(from: url).entries.map(\.parameters) == [GEMMKernelParameters(tileRows: 8, vectorWidth: 16, groupColumns: 1, groupRows: 8)])
    }

    @Test func corruptForeignOrFutureFilesAreRefusedAndTheCacheRebuilds() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tuned-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("{ not json".utf8).write(to: url)
        #expect { try TunedParameters.load(from: url) } throws: { "\($0)".contains("is not a NodeBench tuning file") }
        var warnings: [String] = []
        #expect(TunedParameters.loadCache(from: url) { warnings.append($0) } == TunedParameters())
        #expect(warnings.count == 1 && warnings[0].contains("will be rebuilt"))

        try Data(#"{"schemaVersion": 99, "entries": []}"#.utf8).write(to: url)
        #expect { try TunedParameters.load(from: url) } throws: { "\($0)".contains("tuning schema 99") }
        #expect(try TunedParameters.load(from: url.appendingPathExtension("missing")) == TunedParameters())
    }

    @Test func cacheDirectoryFollowsXDG() {
        #expect(TunedParameters.cacheDirectory(environment: ["XDG_CACHE_HOME": "/x"]).path == "/x/nodebench")
        #expect(TunedParameters.cacheDirectory(environment: ["HOME": "/home/u"]).path == "/home/u/.cache/nodebench")
    }
}
