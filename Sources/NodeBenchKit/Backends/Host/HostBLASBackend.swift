import BLASKit

/// The host CPU through the system BLAS. fp16 and bf16 have no BLAS routine: they are widened to
/// fp32, multiplied with sgemm and rounded back, and that conversion is timed with the GEMM.
final class HostBLASBackend: GEMMBackend {
    let device: DeviceDescriptor
    static let implementationName = Implementation.openblas.rawValue
    var implementation: String { Self.implementationName }

    init(device: DeviceDescriptor) {
        self.device = device
    }

    func unsupportedReason(_ gemm: GEMMCase) -> String? {
        nil
    }

    /// Bytes the backend holds for a case beyond the inputs the runner generated.
    static func workingBytes(_ gemm: GEMMCase) -> Double {
        guard let counts = gemm.elementCounts else { return .infinity }
        let elements = Double(counts.a + counts.b + counts.c)
        switch gemm.dtype {
        case .fp32, .fp64: return elements * Double(gemm.dtype.storageBytes)
        case .fp16, .bf16: return elements * (2 + 4)  // the stored half words and their fp32 copies
        }
    }

    func prepare(_ inputs: GEMMInputs) throws -> PreparedKernel {
        HostPreparedGEMM(inputs)
    }
}

private final class HostPreparedGEMM: PreparedKernel {
    let shape: BLASKit.GEMMShape
    let dtype: DType
    let notes: [String]
    // Operands in the case's type: fp32 and fp64 directly; fp16/bf16 as bit patterns with fp32
    // working copies.
    private let alpha: Double, beta: Double
    private var a32: [Float] = [], b32: [Float] = [], c32: [Float] = []
    private var a64: [Double] = [], b64: [Double] = [], c64: [Double] = []
    private var aWords: [UInt16] = [], bWords: [UInt16] = [], cWords: [UInt16] = []

    init(_ inputs: GEMMInputs) {
        shape = inputs.gemm.blasShape
        dtype = inputs.gemm.dtype
        (alpha, beta) = (inputs.gemm.alpha, inputs.gemm.beta)
        switch dtype {
        case .fp32:
            notes = ["cblas_sgemm"]
            a32 = inputs.a.map { Float($0) }
            b32 = inputs.b.map { Float($0) }
            c32 = inputs.initialC.map { Float($0) }
        case .fp64:
            notes = ["cblas_dgemm"]
            a64 = inputs.a
            b64 = inputs.b
            c64 = inputs.initialC
        case .fp16, .bf16:
            notes = ["\(dtype.rawValue) widened to fp32, cblas_sgemm, rounded to \(dtype.rawValue); conversions timed"]
            aWords = StoredElements.encode(inputs.a.map { Float($0) }, dtype)
            bWords = StoredElements.encode(inputs.b.map { Float($0) }, dtype)
            c32 = inputs.initialC.map { Float($0) }
        }
    }

    func execute() throws -> SampleTime {
        let ((), seconds) = MonotonicClock.time {
            switch dtype {
            case .fp32:
                BLAS.gemm(shape, alpha: Float(alpha), a: a32, b: b32, beta: Float(beta), c: &c32)
            case .fp64:
                BLAS.gemm(shape, alpha: alpha, a: a64, b: b64, beta: beta, c: &c64)
            case .fp16, .bf16:
                a32 = StoredElements.decode(aWords, dtype)
                b32 = StoredElements.decode(bWords, dtype)
                BLAS.gemm(shape, alpha: Float(alpha), a: a32, b: b32, beta: Float(beta), c: &c32)
                cWords = StoredElements.encode(c32, dtype)
            }
        }
        return SampleTime(kernelSeconds: seconds, wallSeconds: seconds)
    }

    func result() throws -> [Double] {
        switch dtype {
        case .fp32: c32.map(Double.init)
        case .fp64: c64
        case .fp16, .bf16: StoredElements.decode(cWords, dtype).map(Double.init)
        }
    }
}
