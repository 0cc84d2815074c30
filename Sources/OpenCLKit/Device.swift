import COpenCL

/// What kind of processor an OpenCL device is.
public enum DeviceKind: String, Sendable, Codable {
    case cpu, gpu, accelerator, other

    init(_ type: cl_device_type) {
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { self = .gpu }
        else if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { self = .cpu }
        else if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { self = .accelerator }
        else { self = .other }
    }
}

/// An OpenCL device and the properties a benchmark needs to know about it.
public struct Device: @unchecked Sendable {
    let id: cl_device_id
    public let platform: Platform
    /// The device's position within its platform.
    public let index: Int
    public let name: String
    public let vendor: String
    public let driverVersion: String
    public let version: String
    public let openCLCVersion: String
    public let kind: DeviceKind
    public let computeUnits: Int
    public let maxClockMHz: Int
    public let globalMemoryBytes: UInt64
    public let maxAllocationBytes: UInt64
    public let localMemoryBytes: UInt64
    public let maxWorkGroupSize: Int
    /// Floats the hardware's vectors hold (16 on an AVX-512 CPU device, 8 on AVX2).
    public let nativeFloatVectorWidth: Int
    public let extensions: [String]
    /// NVIDIA's compute capability (major, minor), from cl_nv_device_attribute_query.
    public let nvidiaComputeCapability: (major: Int, minor: Int)?

    init(id: cl_device_id, platform: Platform, index: Int) throws(OpenCLError) {
        self.id = id
        self.platform = platform
        self.index = index
        func query(_ param: Int32) -> InfoQuery {
            InfoQuery(call: "clGetDeviceInfo") { size, value, sizeRet in
                clGetDeviceInfo(id, cl_device_info(param), size, value, sizeRet)
            }
        }
        name = try query(CL_DEVICE_NAME).string()
        vendor = try query(CL_DEVICE_VENDOR).string()
        driverVersion = try query(CL_DRIVER_VERSION).string()
        version = try query(CL_DEVICE_VERSION).string()
        openCLCVersion = try query(CL_DEVICE_OPENCL_C_VERSION).string()
        kind = DeviceKind(try query(CL_DEVICE_TYPE).value(cl_device_type.self))
        computeUnits = Int(try query(CL_DEVICE_MAX_COMPUTE_UNITS).value(cl_uint.self))
        maxClockMHz = Int(try query(CL_DEVICE_MAX_CLOCK_FREQUENCY).value(cl_uint.self))
        globalMemoryBytes = try query(CL_DEVICE_GLOBAL_MEM_SIZE).value(cl_ulong.self)
        maxAllocationBytes = try query(CL_DEVICE_MAX_MEM_ALLOC_SIZE).value(cl_ulong.self)
        localMemoryBytes = try query(CL_DEVICE_LOCAL_MEM_SIZE).value(cl_ulong.self)
        maxWorkGroupSize = try query(CL_DEVICE_MAX_WORK_GROUP_SIZE).value(Int.self)
        nativeFloatVectorWidth = Int(try query(CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT).value(cl_uint.self))
        extensions = try query(CL_DEVICE_EXTENSIONS).string().split(separator: " ").map(String.init)
        if extensions.contains("cl_nv_device_attribute_query") {
            // CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV and _MINOR_NV from cl_ext.h's NVIDIA section.
            nvidiaComputeCapability = (
                Int(try query(0x4000).value(cl_uint.self)), Int(try query(0x4001).value(cl_uint.self))
            )
        } else {
            nvidiaComputeCapability = nil
        }
    }

    public var supportsFP64: Bool { extensions.contains("cl_khr_fp64") }
    /// CPUs take kernel shapes of their own: few work-items, wide vectors, caches in place of registers.
    public var isCPU: Bool { kind == .cpu }
    public var supportsFP16: Bool { extensions.contains("cl_khr_fp16") }
}
