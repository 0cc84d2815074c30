/// A device that runs the layer's memory-bound ops: the host's C kernels, or one OpenCL device.
public protocol LayerOpBackend: KernelBackend {
    /// Why this device cannot run `layerOp` (too little memory); nil if it can.
    func unsupportedReason(_ layerOp: LayerOpCase) -> String?
    /// Allocates and uploads the op's tensors, so that executing it is only the op.
    func prepare(_ inputs: LayerOpInputs) throws -> PreparedKernel
    /// A plain copy moving about `bytesMoved` bytes (half read, half written), the way the ops run.
    func prepareCopy(bytesMoved: Double) throws -> MemoryCopy
}

/// A copy of device memory, timed right after each repetition of a layer op, so that the op's
/// GB/s reads against what memory gave at that moment: on a shared machine the bandwidth can
/// move 2x between the peak probe and the op. Its output is not checked: it is a yardstick.
public protocol MemoryCopy: PreparedKernel {
    /// Bytes read plus bytes written per execution.
    var bytesMoved: Double { get }
}
