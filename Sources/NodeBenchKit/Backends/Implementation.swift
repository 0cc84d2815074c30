/// The kernels NodeBench runs.
public enum KernelKind: String, CaseIterable, Codable, Sendable {
    case gemm, attention
    /// The layer's memory-bound ops: norms, activations, residual adds, rotary embedding, cross-entropy.
    case layer
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
    /// NodeBench's one-pass kernels for the layer ops: each reads its inputs and writes its outputs once.
    case stream

    public var kernel: KernelKind {
        switch self {
        case .nodebench, .clblast, .openblas: .gemm
        case .naive, .flash: .attention
        case .stream: .layer
        }
    }

    /// GEMM: OpenCL implementations on OpenCL devices, the host BLAS on the host. Attention and
    /// the layer ops: everywhere.
    public func runs(on device: DeviceDescriptor) -> Bool {
        switch self {
        case .openblas: device.backend == .blas
        case .nodebench, .clblast: device.backend == .opencl
        case .naive, .flash, .stream: true
        }
    }
}
