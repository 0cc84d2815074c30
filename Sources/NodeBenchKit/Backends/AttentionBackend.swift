/// A device that runs attention forward passes: the host through BLAS, or one OpenCL device.
public protocol AttentionBackend: KernelBackend {
    /// Why this device cannot run `attention` (too little memory for what it materializes); nil if it can.
    func unsupportedReason(_ attention: AttentionCase) -> String?
    /// Allocates and uploads Q, K and V, so that executing it is only the attention.
    func prepare(_ inputs: AttentionInputs) throws -> PreparedKernel
}
