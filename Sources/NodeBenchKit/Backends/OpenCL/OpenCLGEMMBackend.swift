import OpenCLKit

/// One OpenCL device running NodeBench's GEMM kernels.
final class OpenCLGEMMBackend: GEMMBackend {
    let device: DeviceDescriptor
    static let implementationName = "nodebench"
    var implementation: String { Self.implementationName }
    private let openCLDevice: Device
    private let context: Context
    private let queue: CommandQueue
    /// One program per element type, built on first use; a failed build is kept so it is reported
    /// once per case without rebuilding.
    private var programs: [DType: Result<Program, OpenCLError>] = [:]

    init(device: Device, descriptor: DeviceDescriptor) throws(OpenCLError) {
        self.device = descriptor
        openCLDevice = device
        context = try Context(device: device)
        queue = try CommandQueue(context: context)
    }

    func unsupportedReason(_ gemm: GEMMCase) -> String? {
        if gemm.dtype == .fp64 && !openCLDevice.supportsFP64 { return "device has no fp64 (cl_khr_fp64)" }
        guard let counts = gemm.elementCounts else { return "shape \(gemm.shape) is too large to address" }
        let bytes = [counts.a, counts.b, counts.c].map { Double($0) * Double(gemm.dtype.storageBytes) }
        let largest = bytes.max()!
        if largest > Double(openCLDevice.maxAllocationBytes) {
            return "needs a \(formatBytes(largest)) buffer; device allows \(formatBytes(Double(openCLDevice.maxAllocationBytes)))"
        }
        let total = bytes.reduce(0, +)
        if total > Double(openCLDevice.globalMemoryBytes) {
            return "needs \(formatBytes(total)) of device memory; device has \(formatBytes(Double(openCLDevice.globalMemoryBytes)))"
        }
        return nil
    }

    func prepare(_ inputs: GEMMInputs) throws -> PreparedGEMM {
        let kernel = try program(for: inputs.gemm.dtype).makeKernel(named: GEMMKernelSource.kernelName(for: inputs.gemm.layout))
        return try OpenCLPreparedGEMM(inputs, kernel: kernel, queue: queue, maxWorkGroupSize: openCLDevice.maxWorkGroupSize)
    }

    private func program(for dtype: DType) throws(OpenCLError) -> Program {
        if programs[dtype] == nil {
            programs[dtype] = Result { () throws(OpenCLError) in
                try context.buildProgram(source: GEMMKernelSource.text, options: GEMMKernelSource.buildOptions(for: dtype))
            }
        }
        return try programs[dtype]!.get()
    }
}

private final class OpenCLPreparedGEMM: PreparedGEMM {
    let notes: [String]
    private let kernel: Kernel
    private let queue: CommandQueue
    private let c: Buffer
    private let dtype: DType
    private let cCount: Int
    private let globalSize: [Int]
    private let localSize: [Int]

    init(_ inputs: GEMMInputs, kernel: Kernel, queue: CommandQueue, maxWorkGroupSize: Int) throws {
        let shape = inputs.gemm.shape
        self.kernel = kernel
        self.queue = queue
        dtype = inputs.gemm.dtype
        cCount = shape.m * shape.n
        let a = try OpenCLPreparedGEMM.upload(StoredElements(inputs.a, as: dtype), queue)
        let b = try OpenCLPreparedGEMM.upload(StoredElements(inputs.b, as: dtype), queue)
        c = try queue.context.makeBuffer(byteCount: cCount * dtype.storageBytes)
        try kernel.setArgument(0, Int32(shape.m))
        try kernel.setArgument(1, Int32(shape.n))
        try kernel.setArgument(2, Int32(shape.k))
        try kernel.setArgument(3, a)
        try kernel.setArgument(4, b)
        try kernel.setArgument(5, c)
        // Square work-groups of up to 16x16; the grid is rounded up and the kernel skips the excess.
        var side = 16
        while side > 1 && side * side > maxWorkGroupSize { side /= 2 }
        localSize = [side, side]
        globalSize = [(shape.n + side - 1) / side * side, (shape.m + side - 1) / side * side]
        notes = ["one work-item per element of C, \(side)x\(side) work-groups, \(dtype.accumulation.rawValue) accumulation"]
    }

    private static func upload(_ elements: StoredElements, _ queue: CommandQueue) throws -> Buffer {
        switch elements {
        case .float(let values): try queue.upload(values)
        case .double(let values): try queue.upload(values)
        case .halfWords(let words, _): try queue.upload(words)
        }
    }

    func execute() throws -> SampleTime {
        let (event, wallSeconds) = try MonotonicClock.time { () throws -> Event in
            let event = try queue.enqueue(kernel, globalSize: globalSize, localSize: localSize)
            try event.wait()
            return event
        }
        return SampleTime(kernelSeconds: try event.deviceSeconds(), wallSeconds: wallSeconds)
    }

    func result() throws -> [Double] {
        switch dtype {
        case .fp32: try queue.read(Float.self, count: cCount, from: c).map(Double.init)
        case .fp64: try queue.read(Double.self, count: cCount, from: c)
        case .fp16, .bf16: StoredElements.decode(try queue.read(UInt16.self, count: cCount, from: c), dtype).map(Double.init)
        }
    }
}
