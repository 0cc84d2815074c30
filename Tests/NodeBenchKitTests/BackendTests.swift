import OpenCLKit
import Testing

@testable import NodeBenchKit

/// Every backend against the definition of GEMM, on shapes off every tile size, in every layout
/// and element type: on the real OpenBLAS and the real PoCL device.
@Suite struct BackendTests {
    static let inventory = NodeInventory.discover()

    static func backends() throws -> [GEMMBackend] {
        let host = HostBLASBackend(device: inventory.devices[0])
        let openCL = try #require(inventory.devices.first { $0.backend == .opencl }, "scripts/setup installs PoCL")
        let device = try inventory.openCL(openCL)
        return [host, try OpenCLGEMMBackend(device: device), try CLBlastGEMMBackend(device: device)]
    }

    /// Every backend and the probes on one OpenCL device share the device's one context and queue.
    @Test func oneContextPerDevicePerProcess() throws {
        let openCL = try #require(Self.inventory.devices.first { $0.backend == .opencl })
        let factory = BackendFactory(inventory: Self.inventory, tuned: TunedParameters()) { Issue.record("unexpected warning: \($0)") }
        let queues = try [Implementation.nodebench, .clblast, .naive, .flash].map { implementation -> CommandQueue in
            switch try factory.make(implementation, for: openCL) {
            case let backend as OpenCLGEMMBackend: backend.queue
            case let backend as CLBlastGEMMBackend: backend.queue
            case let backend as OpenCLAttentionBackend: backend.queue
            case let other: throw UsageError("unexpected backend \(other.implementation)")
            }
        } + [try OpenCLProbes(device: try Self.inventory.openCL(openCL), policy: .quick).queue]
        let shared = try Self.inventory.openCL(openCL).queue()
        let context = shared.context
        #expect(queues.allSatisfy { $0 === shared && $0.context === context })
        #expect(throws: UsageError.self) { try Self.inventory.openCL(Self.inventory.devices[0]) }
    }

    static let shapes = [GEMMShape(m: 1, n: 1, k: 1), GEMMShape(m: 17, n: 33, k: 5), GEMMShape(m: 37, n: 19, k: 71)]

    @Test(arguments: GEMMLayout.allCases, DType.allCases)
    func matchesTheDefinitionOnOddShapes(layout: GEMMLayout, dtype: DType) throws {
        for backend in try Self.backends() {
            for shape in Self.shapes {
                let gemm = GEMMCase(shape: shape, layout: layout, dtype: dtype)
                if let reason = backend.unsupportedReason(gemm) {
                    // Only CLBlast lacks types (bf16; fp16 without cl_khr_fp16); PoCL has fp64.
                    #expect(backend is CLBlastGEMMBackend && (dtype == .bf16 || dtype == .fp16), "\(reason)")
                    continue
                }
                let inputs = GEMMInputs(gemm: gemm, seed: 3)
                let prepared = try backend.prepare(inputs)
                let time = try prepared.execute()
                #expect(time.kernelSeconds > 0 && time.wallSeconds > 0)
                let result = try prepared.result()
                let exact = VerificationTests.naive(inputs)
                // Independent of GEMMReference: within a few roundings of the stored type.
                let scale = exact.map(abs).max()! + 1
                let bound = (4 * Double(shape.k) * dtype.accumulation.unitRoundoff + dtype.unitRoundoff) * scale * 2
                let worst = zip(result, exact).map { abs($0 - $1) }.max()!
                #expect(worst <= bound, "\(backend.device.id) \(gemm): error \(worst) > \(bound)")
                #expect(GEMMReference(inputs).verify(result).passed, "\(backend.device.id) \(gemm)")
            }
        }
    }

    @Test(arguments: GEMMLayout.allCases)
    func alphaAndBetaScaleTheProductAndTheOldC(layout: GEMMLayout) throws {
        for backend in try Self.backends() {
            for dtype in DType.allCases {
                let gemm = GEMMCase(shape: GEMMShape(m: 21, n: 35, k: 13), layout: layout, dtype: dtype, alpha: -1.5, beta: 0.5)
                if backend.unsupportedReason(gemm) != nil { continue }
                let inputs = GEMMInputs(gemm: gemm, seed: 8)
                #expect(inputs.c.count == 21 * 35)
                let prepared = try backend.prepare(inputs)
                _ = try prepared.execute()
                let result = try prepared.result()
                let product = VerificationTests.naive(inputs)
                let expected = zip(product, inputs.c).map { -1.5 * $0 + 0.5 * $1 }
                let worst = zip(result, expected).map { abs($0 - $1) }.max()!
                #expect(worst < 0.1 * (dtype == .bf16 ? 1 : dtype == .fp16 ? 0.1 : 0.001), "\(backend.device.id) \(backend.implementation) \(gemm): \(worst)")
                #expect(GEMMReference(inputs).verify(result).passed, "\(backend.implementation) \(gemm)")
            }
        }
    }

    @Test func runsRepeatedlyWithTheSameResult() throws {
        for backend in try Self.backends() {
            let inputs = GEMMInputs(gemm: GEMMCase(shape: GEMMShape(m: 31, n: 29, k: 23), layout: .nt, dtype: .fp32), seed: 5)
            let prepared = try backend.prepare(inputs)
            _ = try prepared.execute()
            let first = try prepared.result()
            _ = try prepared.execute()
            #expect(try prepared.result() == first)
        }
    }

    /// A device output's fingerprint, taken in pieces after each repetition, is the checksum of the
    /// output read whole, in every stored type, for parts of odd lengths and pieces that split them.
    @Test(arguments: DType.allCases)
    func aDeviceOutputsFingerprintInPiecesIsItsChecksum(dtype: DType) throws {
        let openCL = try #require(Self.inventory.devices.first { $0.backend == .opencl })
        let queue = try Self.inventory.openCL(openCL).queue()
        let parts = try [13, 1, 30].enumerated().map { index, count -> DeviceOutputs.Part in
            let values = (0..<count).map { Double($0 * 7 + index) * 0.37 - 3 }
            return (try upload(StoredElements(values, as: dtype), queue), count, dtype)
        }
        let outputs = DeviceOutputs(parts: parts, queue: queue)
        let checksum = Repeatability.checksum(try outputs.read())
        for piece in [1, 4, 5, 64] {
            #expect(try outputs.fingerprint(pieceElements: piece) == checksum, "pieces of \(piece)")
        }
    }

    @Test func anOpenCLDeviceRefusesWhatItCannotHold() throws {
        let backend = try Self.backends()[1]
        let huge = GEMMCase(shape: GEMMShape(m: 1 << 20, n: 1 << 20, k: 16), layout: .nn, dtype: .fp32)
        let reason = try #require(backend.unsupportedReason(huge))
        #expect(reason.contains("needs") && reason.contains("device"))
    }

    @Test func openCLFailuresReadAsReasons() {
        let outOfMemory = OpenCLError(call: "clCreateBuffer(8 bytes)", code: -4)
        #expect(Runner.describe(outOfMemory) == "device out of memory: clCreateBuffer(8 bytes) failed: CL_MEM_OBJECT_ALLOCATION_FAILURE")
        let build = OpenCLError(call: "clBuildProgram", code: -11, buildLog: "<source>:3:1: error: x\nmore")
        #expect(Runner.describe(build) == "kernel build failed: clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE (<source>:3:1: error: x | more)")
    }
}
