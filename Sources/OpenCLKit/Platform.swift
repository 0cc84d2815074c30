import COpenCL
import Synchronization

/// The ICD loader reads its vendor files on the first call without a lock, and PoCL starts up the
/// same way: concurrent first calls crash. Enumeration goes one thread at a time.
private let enumeration = Mutex(())

/// An installed OpenCL platform (one vendor driver found by the ICD loader).
public struct Platform: @unchecked Sendable {
    let id: cl_platform_id
    public let index: Int
    public let name: String
    public let vendor: String
    public let version: String

    init(id: cl_platform_id, index: Int) throws(OpenCLError) {
        self.id = id
        self.index = index
        name = try Platform.query(id, CL_PLATFORM_NAME).string()
        vendor = try Platform.query(id, CL_PLATFORM_VENDOR).string()
        version = try Platform.query(id, CL_PLATFORM_VERSION).string()
    }

    /// Every platform the ICD loader finds. A loader with no vendor installed is not an error:
    /// it reports `CL_PLATFORM_NOT_FOUND_KHR`, and the answer is "no platforms".
    public static func all() throws(OpenCLError) -> [Platform] {
        try enumeration.withLock { _ throws(OpenCLError) in try enumerate() }
    }

    private static func enumerate() throws(OpenCLError) -> [Platform] {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        if status == CL_PLATFORM_NOT_FOUND_KHR || (status == CL_SUCCESS && count == 0) { return [] }
        try check(status, "clGetPlatformIDs")
        var ids = [cl_platform_id?](repeating: nil, count: Int(count))
        try check(clGetPlatformIDs(count, &ids, nil), "clGetPlatformIDs")
        var platforms: [Platform] = []
        for (index, id) in ids.enumerated() {
            guard let id else { continue }
            platforms.append(try Platform(id: id, index: index))
        }
        return platforms
    }

    /// This platform's devices of every type, in the driver's order.
    public func devices() throws(OpenCLError) -> [Device] {
        try enumeration.withLock { _ throws(OpenCLError) in try enumerateDevices() }
    }

    private func enumerateDevices() throws(OpenCLError) -> [Device] {
        var count: cl_uint = 0
        let status = clGetDeviceIDs(id, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &count)
        if status == CL_DEVICE_NOT_FOUND { return [] }
        try check(status, "clGetDeviceIDs")
        var ids = [cl_device_id?](repeating: nil, count: Int(count))
        try check(clGetDeviceIDs(id, cl_device_type(CL_DEVICE_TYPE_ALL), count, &ids, nil), "clGetDeviceIDs")
        var devices: [Device] = []
        for (index, deviceID) in ids.enumerated() {
            guard let deviceID else { continue }
            devices.append(try Device(id: deviceID, platform: self, index: index))
        }
        return devices
    }

    private static func query(_ id: cl_platform_id, _ param: Int32) -> InfoQuery {
        InfoQuery(call: "clGetPlatformInfo") { size, value, sizeRet in
            clGetPlatformInfo(id, cl_platform_info(param), size, value, sizeRet)
        }
    }
}
