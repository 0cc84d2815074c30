/// A device running one implementation of one kernel: the host, or one OpenCL device.
public protocol KernelBackend: AnyObject {
    var device: DeviceDescriptor { get }
    /// The code that computes the result, as results name it: `openblas`, `nodebench`, `flash`.
    var implementation: String { get }
}

/// A device that runs GEMM cases: the host BLAS, or one OpenCL device.
public protocol GEMMBackend: KernelBackend {
    /// Why this device cannot run `gemm` at all (an unsupported type, too little memory); nil if it can.
    func unsupportedReason(_ gemm: GEMMCase) -> String?
    /// Allocates and uploads everything `inputs` needs, so that executing it is only the GEMM.
    func prepare(_ inputs: GEMMInputs) throws -> PreparedKernel
}

/// A case ready to run repeatedly on its device.
public protocol PreparedKernel: AnyObject {
    /// What the computation does beyond the plain kernel (conversions it times), for the results.
    var notes: [String] { get }
    /// One execution, timed.
    func execute() throws -> SampleTime
    /// The output as computed by the last execution, widened to Double.
    func result() throws -> [Double]
    /// `Repeatability.checksum(result())`, taken after each timed repetition.
    func outputFingerprint() throws -> String
    /// A multi-kernel path's parts, timed over the executions so far; empty for one kernel.
    var stages: [CaseResult.Stage] { get }
}

extension PreparedKernel {
    public var stages: [CaseResult.Stage] { [] }
    public func outputFingerprint() throws -> String { Repeatability.checksum(try result()) }
}

/// Matrix elements as a device stores them: the case's element type, bit for bit.
enum StoredElements {
    case float([Float])
    case double([Double])
    /// fp16 or bf16 bit patterns.
    case halfWords([UInt16], DType)

    init(_ values: [Double], as dtype: DType) {
        switch dtype {
        case .fp32: self = .float(values.map { Float($0) })
        case .fp64: self = .double(values)
        case .fp16: self = .halfWords(values.map { Float16(Float($0)).bitPattern }, .fp16)
        case .bf16: self = .halfWords(values.map { BFloat16(Float($0)).bitPattern }, .bf16)
        }
    }

    static func decode(_ words: [UInt16], _ dtype: DType) -> [Float] {
        dtype == .fp16 ? words.map { Float(Float16(bitPattern: $0)) } : words.map { BFloat16(bitPattern: $0).float }
    }

    static func encode(_ values: [Float], _ dtype: DType) -> [UInt16] {
        dtype == .fp16 ? values.map { Float16($0).bitPattern } : values.map { BFloat16($0).bitPattern }
    }

    /// As fp32, the type the host's attention computes in.
    var floats: [Float] {
        switch self {
        case .float(let values): values
        case .halfWords(let words, let dtype): StoredElements.decode(words, dtype)
        case .double(let values): values.map(Float.init)
        }
    }

    var widened: [Double] {
        switch self {
        case .float(let values): values.map(Double.init)
        case .double(let values): values
        case .halfWords(let words, let dtype): StoredElements.decode(words, dtype).map(Double.init)
        }
    }
}

/// Human-readable byte counts for messages.
func formatBytes(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = bytes
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f %@", value, units[unit])
}
