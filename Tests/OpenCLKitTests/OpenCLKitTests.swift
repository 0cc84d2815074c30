import Testing

@testable import OpenCLKit

/// These run on the real PoCL CPU device that scripts/setup installs.
@Suite struct OpenCLKitTests {
    static func firstDevice() throws -> Device {
        let device = try Platform.all().flatMap { try $0.devices() }.first
        return try #require(device, "no OpenCL device: scripts/setup installs PoCL")
    }

    @Test func errorsNameTheStatusCodeAndTheCall() {
        let error = OpenCLError(call: "clCreateBuffer(64 bytes)", code: -5)
        #expect(error.codeName == "CL_OUT_OF_RESOURCES")
        #expect(error.description == "clCreateBuffer(64 bytes) failed: CL_OUT_OF_RESOURCES")
        #expect(error.isOutOfMemory)
        #expect(OpenCLError.name(of: -1001) == "CL_PLATFORM_NOT_FOUND_KHR")
        #expect(OpenCLError.name(of: -9999) == "CL_UNKNOWN_ERROR(-9999)")
        #expect(!OpenCLError(call: "x", code: -46).isOutOfMemory)
    }

    @Test func discoversPlatformsAndDeviceProperties() throws {
        let platforms = try Platform.all()
        #expect(!platforms.isEmpty)
        let device = try Self.firstDevice()
        #expect(!device.name.isEmpty)
        #expect(!device.driverVersion.isEmpty)
        #expect(device.computeUnits >= 1)
        #expect(device.globalMemoryBytes > 0)
        #expect(device.maxAllocationBytes > 0 && device.maxAllocationBytes <= device.globalMemoryBytes)
        #expect(device.maxWorkGroupSize >= 1)
        #expect(device.openCLCVersion.hasPrefix("OpenCL C"))
        #expect(device.supportsFP64 == device.extensions.contains("cl_khr_fp64"))
    }

    @Test func runsAKernelAndTimesItOnTheDevice() throws {
        let context = try Context(device: try Self.firstDevice())
        let queue = try CommandQueue(context: context)
        let program = try context.buildProgram(
            source: "__kernel void scale(__global float *x, const float factor, const int n) {"
                + " int i = get_global_id(0); if (i < n) x[i] *= factor; }")
        let kernel = try program.makeKernel(named: "scale")
        let values = (0..<1000).map(Float.init)
        let buffer = try context.makeBuffer(byteCount: values.count * 4)
        try queue.write(values, to: buffer)
        try kernel.setArgument(0, buffer)
        try kernel.setArgument(1, Float(3))
        try kernel.setArgument(2, Int32(values.count))
        let event = try queue.enqueue(kernel, globalSize: [1024], localSize: [64])
        try event.wait()
        #expect(try event.deviceSeconds() > 0)
        #expect(try queue.read(Float.self, count: values.count, from: buffer) == values.map { $0 * 3 })
    }

    @Test func aFailedBuildThrowsWithTheCompilerLog() throws {
        let context = try Context(device: try Self.firstDevice())
        let error = try #require(throws: OpenCLError.self) {
            try context.buildProgram(source: "__kernel void broken(__global float *x) { x[0] = undeclared; }")
        }
        #expect(error.codeName == "CL_BUILD_PROGRAM_FAILURE")
        #expect(error.buildLog?.contains("undeclared") == true)
        #expect(error.description.contains("clBuildProgram failed"))
    }

    @Test func anUnknownKernelNameThrows() throws {
        let context = try Context(device: try Self.firstDevice())
        let program = try context.buildProgram(source: "__kernel void present(__global int *x) { x[0] = 1; }")
        let error = try #require(throws: OpenCLError.self) { try program.makeKernel(named: "absent") }
        #expect(error.codeName == "CL_INVALID_KERNEL_NAME")
        #expect(error.call == "clCreateKernel(absent)")
    }
}
