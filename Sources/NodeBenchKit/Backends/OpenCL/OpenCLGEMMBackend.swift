import OpenCLKit

/// One OpenCL device running NodeBench's GEMM kernel family, with per-device parameters.
final class OpenCLGEMMBackend: GEMMBackend {
    static let implementationName = Implementation.nodebench.rawValue
    var implementation: String { Self.implementationName }
    private let runtime: OpenCLDeviceRuntime
    var device: DeviceDescriptor { runtime.descriptor }
    var openCLDevice: Device { runtime.device }
    let queue: CommandQueue
    /// Tuning results; cases without an entry get the defaults for the device type.
    private let tuned: TunedParameters
    /// Compiled binaries of earlier runs, if the session keeps them.
    private let programCache: ProgramCache?

    init(
        device: OpenCLDeviceRuntime, tuned: TunedParameters = TunedParameters(),
        programCache: ProgramCache? = nil
    ) throws(OpenCLError) {
        runtime = device
        self.tuned = tuned
        self.programCache = programCache
        queue = try device.queue()
    }

    /// Tuned parameters for this device and case if there are any, else the device type's defaults.
    func parameters(for gemm: GEMMCase) -> (GEMMKernelParameters, source: String) {
        if let entry = tuned.lookup(device: openCLDevice.name, driver: openCLDevice.driverVersion, gemm: gemm) {
            return (entry.parameters, "tuned for \(entry.dtype.rawValue) \(entry.layout.rawValue) \(entry.sizeClass.rawValue) at \(entry.tunedAt)")
        }
        return (GEMMKernelParameters.defaults(isCPU: openCLDevice.kind == .cpu, dtype: gemm.dtype), "default for \(openCLDevice.kind.rawValue)")
    }

    func unsupportedReason(_ gemm: GEMMCase) -> String? {
        if gemm.dtype == .fp64 && !openCLDevice.supportsFP64 { return "device has no fp64 (cl_khr_fp64)" }
        guard let counts = gemm.elementCounts else { return "shape \(gemm.shape) is too large to address" }
        // A and B are kept twice: as stored, and packed in the accumulation type (padding ignored).
        let copyBytes = Double(gemm.dtype.storageBytes + gemm.dtype.accumulation.storageBytes)
        let bytes = [Double(counts.a) * copyBytes, Double(counts.b) * copyBytes, Double(counts.c * gemm.dtype.storageBytes)]
        let largest = Double(max(counts.a, counts.b, counts.c) * gemm.dtype.storageBytes)
        if largest > Double(openCLDevice.maxAllocationBytes) {
            return "needs a \(formatBytes(largest)) buffer; device allows \(formatBytes(Double(openCLDevice.maxAllocationBytes)))"
        }
        let total = bytes.reduce(0, +)
        if total > Double(openCLDevice.globalMemoryBytes) {
            return "needs \(formatBytes(total)) of device memory; device has \(formatBytes(Double(openCLDevice.globalMemoryBytes)))"
        }
        return nil
    }

    func prepare(_ inputs: GEMMInputs) throws -> PreparedKernel {
        let (parameters, source) = parameters(for: inputs.gemm)
        return try prepare(inputs, parameters: parameters, parameterSource: source)
    }

    /// Prepares with explicit parameters (the tuner's candidates).
    func prepare(_ inputs: GEMMInputs, parameters: GEMMKernelParameters, parameterSource: String) throws -> PreparedKernel {
        if let violation = parameters.violation(maxWorkGroupSize: openCLDevice.maxWorkGroupSize) {
            throw KernelParameterError(description: "kernel parameters \(parameters): \(violation)")
        }
        let program = try runtime.program(
            source: GEMMKernelSource.text, options: parameters.buildOptions(dtype: inputs.gemm.dtype, layout: inputs.gemm.layout),
            disk: programCache)
        return try OpenCLPreparedGEMM(
            inputs, program: program, queue: queue, parameters: parameters, parameterSource: parameterSource,
            maxWorkGroupSize: openCLDevice.maxWorkGroupSize)
    }
}

struct KernelParameterError: Error, CustomStringConvertible {
    let description: String
}

private final class OpenCLPreparedGEMM: PreparedKernel {
    let notes: [String]
    /// Pack A, pack B, multiply: run in this order every execution, timed together.
    private let launches: KernelLaunches
    private let queue: CommandQueue
    private let c: Buffer
    private let dtype: DType
    private let cCount: Int

    init(
        _ inputs: GEMMInputs, program: Program, queue: CommandQueue, parameters: GEMMKernelParameters,
        parameterSource: String, maxWorkGroupSize: Int
    ) throws {
        let shape = inputs.gemm.shape
        self.queue = queue
        dtype = inputs.gemm.dtype
        cCount = shape.m * shape.n
        let (tm, vw) = (parameters.tileRows, parameters.vectorWidth)
        let rowPanels = (shape.m + tm - 1) / tm, columnPanels = (shape.n + vw - 1) / vw
        let accumulationBytes = dtype.accumulation.storageBytes
        let a = try upload(StoredElements(inputs.a, as: dtype), queue)
        let b = try upload(StoredElements(inputs.b, as: dtype), queue)
        let packedA = try queue.context.makeBuffer(byteCount: rowPanels * tm * shape.k * accumulationBytes)
        let packedB = try queue.context.makeBuffer(byteCount: columnPanels * vw * shape.k * accumulationBytes)
        c = try upload(StoredElements(inputs.initialC, as: dtype), queue)

        let packA = try program.makeKernel(named: "pack_a", arguments: [.int(Int32(shape.m)), .int(Int32(shape.k)), .buffer(a), .buffer(packedA)])
        let packB = try program.makeKernel(named: "pack_b", arguments: [.int(Int32(shape.k)), .int(Int32(shape.n)), .buffer(b), .buffer(packedB)])
        // alpha and beta are in the accumulation type.
        let scale: (KernelArgument, KernelArgument) = dtype == .fp64
            ? (.double(inputs.gemm.alpha), .double(inputs.gemm.beta))
            : (.float(Float(inputs.gemm.alpha)), .float(Float(inputs.gemm.beta)))
        let gemm = try program.makeKernel(named: "gemm", arguments: [
            .int(Int32(shape.m)), .int(Int32(shape.n)), .int(Int32(shape.k)), scale.0, scale.1, .buffer(packedA), .buffer(packedB),
            .buffer(c),
        ])

        var side = 16
        while side > 1 && side * side > maxWorkGroupSize { side /= 2 }
        launches = KernelLaunches(queue: queue, launches: [
            .init(kernel: packA, global: [roundUp(shape.k, side), roundUp(rowPanels, side)], local: [side, side]),
            .init(kernel: packB, global: [roundUp(columnPanels, side), roundUp(shape.k, side)], local: [side, side]),
            .init(
                kernel: gemm, global: [roundUp(columnPanels, parameters.groupColumns), roundUp(rowPanels, parameters.groupRows)],
                local: [parameters.groupColumns, parameters.groupRows]),
        ])
        notes = [
            "kernel \(parameters) (\(parameterSource)), \(dtype.accumulation.rawValue) accumulation",
            "A and B packed into \(dtype.accumulation.rawValue) panels by two kernels before each GEMM, timed with it",
        ]
    }

    func execute() throws -> SampleTime {
        try launches.execute()
    }

    func result() throws -> [Double] {
        try readResult(c, count: cCount, dtype: dtype, queue: queue)
    }
}
