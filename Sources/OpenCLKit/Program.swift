import COpenCL

/// A program built for one device. Owns the `cl_program`. OpenCL's calls on a program are
/// thread-safe (OpenCL 1.2, appendix A.2), so one built program can serve every thread; its
/// kernels, whose arguments are set call by call, cannot.
public final class Program: @unchecked Sendable {
    let handle: cl_program
    public let context: Context

    init(context: Context, source: String, options: String) throws(OpenCLError) {
        self.context = context
        handle = try checked("clCreateProgramWithSource") { status in
            source.withCString { text in
                var pointer: UnsafePointer<CChar>? = text
                return clCreateProgramWithSource(context.handle, 1, &pointer, nil, status)
            }
        }
        try build(options: options)
    }

    /// A program from a binary this device produced earlier (see `binary()`).
    init(context: Context, binary: [UInt8], options: String) throws(OpenCLError) {
        self.context = context
        var deviceID: cl_device_id? = context.device.id
        var length = binary.count
        var binaryStatus: cl_int = CL_SUCCESS
        handle = try checked("clCreateProgramWithBinary") { status in
            binary.withUnsafeBufferPointer { bytes in
                var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
                return clCreateProgramWithBinary(context.handle, 1, &deviceID, &length, &pointer, &binaryStatus, status)
            }
        }
        try check(binaryStatus, "clCreateProgramWithBinary")
        try build(options: options)
    }

    private func build(options: String) throws(OpenCLError) {
        if FaultInjection.fails(.build) {
            throw OpenCLError(call: "clBuildProgram [injected fault]", code: CL_BUILD_PROGRAM_FAILURE, buildLog: "error: injected build failure")
        }
        var deviceID: cl_device_id? = context.device.id
        let status = clBuildProgram(handle, 1, &deviceID, options, nil, nil)
        if status != CL_SUCCESS {
            let log = try? InfoQuery(call: "clGetProgramBuildInfo") { [handle] size, value, sizeRet in
                clGetProgramBuildInfo(handle, deviceID, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, value, sizeRet)
            }.string()
            // Every property is set, so deinit runs and releases the program.
            throw OpenCLError(call: "clBuildProgram", code: status, buildLog: log)
        }
    }

    deinit { ReleaseFailures.check(clReleaseProgram(handle), "clReleaseProgram") }

    /// The device binary of the built program, to rebuild it later without compiling.
    public func binary() throws(OpenCLError) -> [UInt8] {
        let sizes = try InfoQuery(call: "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)") { [handle] size, value, sizeRet in
            clGetProgramInfo(handle, cl_program_info(CL_PROGRAM_BINARY_SIZES), size, value, sizeRet)
        }.array(of: Int.self)
        guard sizes.count == 1, let size = sizes.first, size > 0 else { return [] }
        var binary = [UInt8](repeating: 0, count: size)
        let status = binary.withUnsafeMutableBufferPointer { bytes in
            var pointer: UnsafeMutablePointer<UInt8>? = bytes.baseAddress
            return clGetProgramInfo(
                handle, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil)
        }
        try check(status, "clGetProgramInfo(CL_PROGRAM_BINARIES)")
        return binary
    }

    public func makeKernel(named name: String) throws(OpenCLError) -> Kernel {
        try Kernel(program: self, name: name)
    }
}

/// A kernel and its arguments. Owns the `cl_kernel`.
public final class Kernel {
    let handle: cl_kernel
    public let name: String
    /// Kept so the program outlives its kernel.
    let program: Program
    /// Buffers bound as arguments, kept alive while the kernel may still use them.
    private var boundBuffers: [Int: Buffer] = [:]

    init(program: Program, name: String) throws(OpenCLError) {
        self.program = program
        self.name = name
        handle = try checked("clCreateKernel(\(name))") { status in
            clCreateKernel(program.handle, name, status)
        }
    }

    deinit { ReleaseFailures.check(clReleaseKernel(handle), "clReleaseKernel") }

    public func setArgument(_ index: Int, _ buffer: Buffer) throws(OpenCLError) {
        var memory: cl_mem? = buffer.handle
        try check(
            clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_mem>.size, &memory),
            "clSetKernelArg(\(name), \(index))")
        boundBuffers[index] = buffer
    }

    /// A scalar argument; `T` must match the kernel's parameter type exactly (`int` is `Int32`).
    public func setArgument<T: BitwiseCopyable>(_ index: Int, _ value: T) throws(OpenCLError) {
        var copy = value
        try check(
            clSetKernelArg(handle, cl_uint(index), MemoryLayout<T>.size, &copy), "clSetKernelArg(\(name), \(index))")
        boundBuffers[index] = nil
    }
}
