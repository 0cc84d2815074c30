/// The kernels NodeBench runs.
public enum KernelKind: String, CaseIterable, Codable, Sendable {
    case gemm, attention
}

/// The code that computes a case, as results name it and `--impl` selects it.
public enum Implementation: String, CaseIterable, Codable, Sendable {
    /// NodeBench's own OpenCL GEMM kernels.
    case nodebench
    /// CLBlast on the same OpenCL device, for comparison.
    case clblast
    /// The host BLAS.
    case openblas
    /// Attention that materializes the score matrix: scores, softmax, then PV (the baseline).
    case naive
    /// Fused attention in FlashAttention-2's loop order: no score matrix in memory.
    case flash

    public var kernel: KernelKind {
        switch self {
        case .nodebench, .clblast, .openblas: .gemm
        case .naive, .flash: .attention
        }
    }

    /// GEMM: OpenCL implementations on OpenCL devices, the host BLAS on the host. Attention: both
    /// implementations everywhere.
    public func runs(on device: DeviceDescriptor) -> Bool {
        switch self {
        case .openblas: device.backend == .blas
        case .nodebench, .clblast: device.backend == .opencl
        case .naive, .flash: true
        }
    }
}
