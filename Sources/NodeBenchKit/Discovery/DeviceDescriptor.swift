import OpenCLKit

/// One device a case can run on, as reported by `nodebench devices` and stored in every result file.
public struct DeviceDescriptor: Codable, Sendable, Equatable {
    /// Stable id for `--device`: `host`, or `opencl:<platform>:<device>`.
    public var id: String
    public var backend: Backend
    public var type: DeviceKind
    public var name: String
    public var vendor: String?
    /// Driver (OpenCL) or library build (BLAS).
    public var driver: String?
    public var platform: String?
    public var openCLVersion: String?
    public var openCLCVersion: String?
    public var computeUnits: Int?
    public var maxClockMHz: Int?
    public var globalMemoryBytes: UInt64?
    public var maxAllocationBytes: UInt64?
    public var localMemoryBytes: UInt64?
    public var maxWorkGroupSize: Int?
    public var fp64: Bool
    public var fp16: Bool
    public var extensions: [String]?

    public static let hostID = "host"

    /// What runs the device's cases: the host BLAS, or an OpenCL driver.
    public enum Backend: String, Codable, Sendable {
        case blas, opencl
    }

    /// The host (its BLAS), the one device not reached through OpenCL.
    public var isHost: Bool { backend == .blas }

    static func openCLID(platform: Int, device: Int) -> String { "opencl:\(platform):\(device)" }

    init(openCL device: Device) {
        id = DeviceDescriptor.openCLID(platform: device.platform.index, device: device.index)
        backend = .opencl
        type = device.kind
        name = device.name
        vendor = device.vendor
        driver = device.driverVersion
        platform = device.platform.name
        openCLVersion = device.version
        openCLCVersion = device.openCLCVersion
        computeUnits = device.computeUnits
        maxClockMHz = device.maxClockMHz
        globalMemoryBytes = device.globalMemoryBytes
        maxAllocationBytes = device.maxAllocationBytes
        localMemoryBytes = device.localMemoryBytes
        maxWorkGroupSize = device.maxWorkGroupSize
        fp64 = device.supportsFP64
        fp16 = device.supportsFP16
        extensions = device.extensions
    }

    init(hostCPU name: String, vendor: String?, blasBuild: String, cores: Int, memoryBytes: UInt64) {
        id = DeviceDescriptor.hostID
        backend = .blas
        type = .cpu
        self.name = name
        self.vendor = vendor
        driver = blasBuild
        computeUnits = cores
        globalMemoryBytes = memoryBytes
        maxAllocationBytes = memoryBytes
        fp64 = true
        fp16 = false
    }
}
