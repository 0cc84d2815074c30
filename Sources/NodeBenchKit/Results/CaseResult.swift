/// The outcome of one case on one device, as stored in `results` of a result file.
public struct CaseResult: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case ok, failed, skipped
    }

    public var kernel: String
    public var implementation: String
    public var device: String
    public var dtype: DType
    public var layout: GEMMLayout
    public var shape: GEMMShape
    public var alpha: Double
    public var beta: Double
    /// How elements are stored and summed, e.g. fp16 storage with fp32 accumulation.
    public var storageType: DType
    public var accumulationType: DType
    public var status: Status
    /// Why the case is not `ok`.
    public var reason: String?
    public var flops: Double
    /// Device time and host end-to-end time, in seconds. Absent when nothing was timed.
    public var stats: TimingStats?
    /// GFLOP/s from the median device time; absent unless the case is `ok` (verified).
    public var gflops: Double?
    public var verification: Verification?
    /// Arithmetic intensity and share of the device's peak; absent until peaks are known.
    public var efficiency: Efficiency?
    /// A variation of the implementation, e.g. `OPENBLAS_CORETYPE=SkylakeX`.
    public var variant: String?
    public var notes: [String]

    public struct TimingStats: Codable, Sendable, Equatable {
        public var unit: String
        public var kernel: Statistics
        public var wall: Statistics
    }

    init(gemm: GEMMCase, backend: GEMMBackend, status: Status, reason: String? = nil) {
        self.init(gemm: gemm, device: backend.device, implementation: backend.implementation, status: status, reason: reason)
    }

    init(gemm: GEMMCase, device: DeviceDescriptor, implementation: String, status: Status, reason: String? = nil) {
        kernel = "gemm"
        self.implementation = implementation
        self.device = device.id
        dtype = gemm.dtype
        layout = gemm.layout
        shape = gemm.shape
        alpha = gemm.alpha
        beta = gemm.beta
        storageType = gemm.dtype
        accumulationType = gemm.dtype.accumulation
        self.status = status
        self.reason = reason
        flops = gemm.shape.flops
        notes = []
    }

    public var gemmCase: GEMMCase { GEMMCase(shape: shape, layout: layout, dtype: dtype, alpha: alpha, beta: beta) }
}
