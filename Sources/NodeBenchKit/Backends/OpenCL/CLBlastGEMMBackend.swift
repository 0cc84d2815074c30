import CLBlastKit
import OpenCLKit

/// CLBlast's GEMM on an OpenCL device, run on the same inputs as NodeBench's kernel so the two
/// read side by side. CLBlast compiles its kernels on first use in each process; that first
/// call is the verification run, never a timed one.
final class CLBlastGEMMBackend: GEMMBackend {
    let device: DeviceDescriptor
    static let implementationName = Implementation.clblast.rawValue
    var implementation: String { Self.implementationName }
    private let openCLDevice: Device
    let queue: CommandQueue

    init(device: OpenCLDeviceRuntime) throws(OpenCLError) {
        self.device = device.descriptor
        openCLDevice = device.device
        queue = try device.queue()
    }

    func unsupportedReason(_ gemm: GEMMCase) -> String? {
        switch gemm.dtype {
        case .bf16: return "CLBlast has no bf16 GEMM"
        case .fp16 where !openCLDevice.supportsFP16: return "CLBlast's fp16 GEMM needs cl_khr_fp16, which the device lacks"
        case .fp64 where !openCLDevice.supportsFP64: return "device has no fp64 (cl_khr_fp64)"
        default: break
        }
        guard let counts = gemm.elementCounts else { return "shape \(gemm.shape) is too large to address" }
        let bytes = Double(counts.a + counts.b + counts.c) * Double(gemm.dtype.storageBytes)
        if bytes > Double(openCLDevice.globalMemoryBytes) {
            return "needs \(formatBytes(bytes)) of device memory; device has \(formatBytes(Double(openCLDevice.globalMemoryBytes)))"
        }
        return nil
    }

    func prepare(_ inputs: GEMMInputs) throws -> PreparedKernel {
        try CLBlastPreparedGEMM(inputs, queue: queue)
    }
}

private final class CLBlastPreparedGEMM: DeviceOutputKernel {
    let notes = [
        "CLBlast xGEMM with its own tuning database, row-major",
        "timed on the host clock, submission to completion: CLBlast's helper kernels return no events",
    ]
    private let gemm: GEMMCase
    let queue: CommandQueue
    private let a: Buffer, b: Buffer, c: Buffer

    init(_ inputs: GEMMInputs, queue: CommandQueue) throws {
        gemm = inputs.gemm
        self.queue = queue
        a = try upload(StoredElements(inputs.a, as: gemm.dtype), queue)
        b = try upload(StoredElements(inputs.b, as: gemm.dtype), queue)
        c = try upload(StoredElements(inputs.initialC, as: gemm.dtype), queue)
    }

    func execute() throws -> SampleTime {
        let precision: CLBlast.Precision = switch gemm.dtype {
        case .fp64: .double
        case .fp16: .half
        default: .single
        }
        let ((), seconds) = try MonotonicClock.time { () throws in
            _ = try CLBlast.gemm(
                precision, transposeA: gemm.layout.transposesA, transposeB: gemm.layout.transposesB, m: gemm.shape.m,
                n: gemm.shape.n, k: gemm.shape.k, alpha: gemm.alpha, a: a, b: b, beta: gemm.beta, c: c, queue: queue)
            // CLBlast may enqueue helper kernels (padding, transposes) before the GEMM; the queue
            // is in order, so finishing it covers them all.
            try queue.finish()
        }
        return SampleTime(kernelSeconds: seconds, wallSeconds: seconds)
    }

    var deviceOutputs: DeviceOutputs { DeviceOutputs(parts: [(c, gemm.shape.m * gemm.shape.n, gemm.dtype)], queue: queue) }
}
