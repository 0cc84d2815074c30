/// The code that computes a case, as results name it and `--impl` selects it.
public enum Implementation: String, CaseIterable, Codable, Sendable {
    /// NodeBench's own OpenCL kernels.
    case nodebench
    /// CLBlast on the same OpenCL device, for comparison.
    case clblast
    /// The host BLAS.
    case openblas

    /// OpenCL implementations run on OpenCL devices, the host BLAS on the host.
    public func runs(on device: DeviceDescriptor) -> Bool {
        self == .openblas ? device.backend == "blas" : device.backend == "opencl"
    }
}
