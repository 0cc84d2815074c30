/// A device that runs the layer's memory-bound ops: the host's C kernels, or one OpenCL device.
public protocol LayerOpBackend: KernelBackend {
    /// Why this device cannot run `layerOp` (too little memory); nil if it can.
    func unsupportedReason(_ layerOp: LayerOpCase) -> String?
    /// Allocates and uploads the op's tensors, so that executing it is only the op.
    func prepare(_ inputs: LayerOpInputs) throws -> PreparedKernel
}
