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
    let notes: [String]
    private let operands: any HostGEMMOperands

    init(_ inputs: GEMMInputs) {
        // What each type means for the host's storage and its BLAS call, decided here only.
        operands = switch inputs.gemm.dtype {
        case .fp32: NativeOperands<Float>(inputs, routine: "cblas_sgemm")
        case .fp64: NativeOperands<Double>(inputs, routine: "cblas_dgemm")
        case .fp16, .bf16: WidenedHalfOperands(inputs)
        }
        notes = [operands.note]
    }

    func execute() throws -> SampleTime {
        let ((), seconds) = MonotonicClock.time { operands.multiply() }
        return SampleTime(kernelSeconds: seconds, wallSeconds: seconds)
    }

    func result() throws -> [Double] { operands.result }
}

/// A host GEMM's operands as the case's type stores them, and the timed BLAS call on them.
private protocol HostGEMMOperands: AnyObject {
    var note: String { get }
    func multiply()
    var result: [Double] { get }
}

/// fp32 and fp64: the BLAS routine of the type multiplies the stored operands.
private final class NativeOperands<Element: BLASElement>: HostGEMMOperands {
    let note: String
    private let shape: BLASKit.GEMMShape
    private let alpha: Element, beta: Element
    private let a: [Element], b: [Element]
    private var c: [Element]

    init(_ inputs: GEMMInputs, routine: String) {
        note = routine
        shape = inputs.gemm.blasShape
        (alpha, beta) = (Element(inputs.gemm.alpha), Element(inputs.gemm.beta))
        a = inputs.a.map { Element($0) }
        b = inputs.b.map { Element($0) }
        c = inputs.initialC.map { Element($0) }
    }

    func multiply() { BLAS.gemm(shape, alpha: alpha, a: a, b: b, beta: beta, c: &c) }
    var result: [Double] { c.map { Double($0) } }
}

/// fp16 and bf16, which BLAS has no routine for: the stored half words are widened to fp32,
/// multiplied with sgemm and rounded back, and those conversions are timed with the GEMM.
private final class WidenedHalfOperands: HostGEMMOperands {
    let note: String
    private let shape: BLASKit.GEMMShape
    private let dtype: DType
    private let alpha: Float, beta: Float
    private let aWords: [UInt16], bWords: [UInt16]
    private var cWords: [UInt16] = []
    private var c32: [Float]

    init(_ inputs: GEMMInputs) {
        dtype = inputs.gemm.dtype
        note = "\(dtype.rawValue) widened to fp32, cblas_sgemm, rounded to \(dtype.rawValue); conversions timed"
        shape = inputs.gemm.blasShape
        (alpha, beta) = (Float(inputs.gemm.alpha), Float(inputs.gemm.beta))
        aWords = StoredElements.encode(inputs.a.map { Float($0) }, dtype)
        bWords = StoredElements.encode(inputs.b.map { Float($0) }, dtype)
        c32 = inputs.initialC.map { Float($0) }
    }

    func multiply() {
        let a32 = StoredElements.decode(aWords, dtype)
        let b32 = StoredElements.decode(bWords, dtype)
        BLAS.gemm(shape, alpha: alpha, a: a32, b: b32, beta: beta, c: &c32)
        cWords = StoredElements.encode(c32, dtype)
    }

    var result: [Double] { StoredElements.decode(cWords, dtype).map(Double.init) }
}
