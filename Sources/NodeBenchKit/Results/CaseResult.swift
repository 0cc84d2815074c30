/// The outcome of one case on one device, as stored in `results` of a result file.
public struct CaseResult: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case ok, failed, skipped
    }

    public var kernel: KernelKind
    public var implementation: String
    public var device: String
    public var dtype: DType
    /// GEMM only: layout, shape and scaling.
    public var layout: GEMMLayout?
    public var shape: GEMMShape?
    public var alpha: Double?
    public var beta: Double?
    /// Attention only: batch, heads, sequence, head dimension, masking.
    public var attention: AttentionShape?
    /// How elements are stored and summed, e.g. fp16 storage with fp32 accumulation.
    public var storageType: DType
    public var accumulationType: DType
    public var status: Status
    /// Why the case is not `ok`.
    public var reason: String?
    public var flops: Double
    /// How `flops` is counted.
    public var flopsModel: String
    /// Device time and host end-to-end time, in seconds. Absent when nothing was timed.
    public var stats: TimingStats?
    /// GFLOP/s from the median device time; absent unless the case is `ok` (verified).
    public var gflops: Double?
    public var verification: Verification?
    /// The largest difference from the same case's output on the first device and implementation
    /// that ran it (the host, when it ran): CPU and accelerator side by side.
    public var crossCheck: CrossCheck?
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

    public struct CrossCheck: Codable, Sendable, Equatable {
        /// `device/implementation` of the output compared with.
        public var against: String
        public var maxAbsDifference: Double
    }

    init(_ workload: Workload, device: DeviceDescriptor, implementation: String, status: Status, reason: String? = nil) {
        kernel = workload.kernel
        self.implementation = implementation
        self.device = device.id
        dtype = workload.dtype
        storageType = workload.dtype
        accumulationType = workload.dtype.accumulation
        self.status = status
        self.reason = reason
        flops = workload.flops
        notes = []
        switch workload {
        case .gemm(let gemm):
            layout = gemm.layout
            shape = gemm.shape
            alpha = gemm.alpha
            beta = gemm.beta
            flopsModel = "2*M*N*K"
        case .attention(let attention):
            self.attention = attention.shape
            flopsModel = AttentionShape.flopsModel
        }
    }

    init(gemm: GEMMCase, device: DeviceDescriptor, implementation: String, status: Status, reason: String? = nil) {
        self.init(.gemm(gemm), device: device, implementation: implementation, status: status, reason: reason)
    }

    /// The case this result measured.
    public var workload: Workload? {
        if let shape, let layout {
            return .gemm(GEMMCase(shape: shape, layout: layout, dtype: dtype, alpha: alpha ?? 1, beta: beta ?? 0))
        }
        if let attention, AttentionCase.dtypes.contains(dtype) { return .attention(AttentionCase(shape: attention, dtype: dtype)) }
        return nil
    }

    /// "gemm fp32 NN 1024x1024x1024", "attention bf16 b1 h8 s2048 d64 causal".
    public var caseDescription: String { workload?.description ?? kernel.rawValue }

    /// The least traffic the case needs, as stored: each operand read once, the output written once.
    public var minimumTrafficBytes: Double {
        switch workload {
        case .gemm(let gemm)?:
            (Double(gemm.shape.m) * Double(gemm.shape.k) + Double(gemm.shape.k) * Double(gemm.shape.n)
                + Double(gemm.shape.m) * Double(gemm.shape.n)) * Double(storageType.storageBytes)
        case .attention(let attention)?: attention.minimumTrafficBytes
        case nil: .infinity
        }
    }
}
