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
        tuned.gemmParameters(for: gemm, on: openCLDevice)
    }

    func unsupportedReason(_ gemm: GEMMCase) -> String? {
        if gemm.dtype == .fp64 && !openCLDevice.supportsFP64 { return "device has no fp64 (cl_khr_fp64)" }
        guard let counts = gemm.elementCounts else { return "shape \(gemm.shape) is too large to address" }
        // A and B are kept twice: as stored, and packed in the accumulation type (padding ignored);
        // a K in several launches adds the sums carried between them.
        let copyBytes = Double(gemm.dtype.storageBytes + gemm.dtype.accumulation.storageBytes)
        let bytes = [Double(counts.a) * copyBytes, Double(counts.b) * copyBytes, Double(counts.c * gemm.dtype.storageBytes)]
        let largest = Double(max(counts.a, counts.b, counts.c) * gemm.dtype.storageBytes)
        if largest > Double(openCLDevice.maxAllocationBytes) {
            return "needs a \(formatBytes(largest)) buffer; device allows \(formatBytes(Double(openCLDevice.maxAllocationBytes)))"
        }
        let plan = BatchedGEMM(
            shape: gemm.shape, layout: gemm.layout, batches: 1, parameters: parameters(for: gemm).0, accumulationBytes: gemm.dtype.accumulation.storageBytes)
        let total = bytes.reduce(0, +) + Double(plan.scratchBytes.partialSums)
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
            inputs, program: program, queue: queue, parameters: parameters, parameterSource: parameterSource, device: openCLDevice)
    }
}

struct KernelParameterError: Error, CustomStringConvertible {
    let description: String
}

private final class OpenCLPreparedGEMM: DeviceOutputKernel {
    let notes: [String]
    /// Pack A, pack B, multiply: run in this order every execution, timed together.
    private let launches: KernelLaunches
    private let queue: CommandQueue
    private let c: Buffer
    private let dtype: DType
    private let cCount: Int

    init(
        _ inputs: GEMMInputs, program: Program, queue: CommandQueue, parameters: GEMMKernelParameters,
        parameterSource: String, device: Device
    ) throws {
        let shape = inputs.gemm.shape
        self.queue = queue
        dtype = inputs.gemm.dtype
        cCount = shape.m * shape.n
        let plan = BatchedGEMM(
            shape: shape, layout: inputs.gemm.layout, batches: 1, parameters: parameters,
            accumulationBytes: dtype.accumulation.storageBytes)
        let a = try upload(StoredElements(inputs.a, as: dtype), queue)
        let b = try upload(StoredElements(inputs.b, as: dtype), queue)
        c = try upload(StoredElements(inputs.initialC, as: dtype), queue)
        // alpha and beta are in the accumulation type.
        let scale: (KernelArgument, KernelArgument) = dtype == .fp64
            ? (.double(inputs.gemm.alpha), .double(inputs.gemm.beta))
            : (.float(Float(inputs.gemm.alpha)), .float(Float(inputs.gemm.beta)))
        launches = KernelLaunches(
            queue: queue,
            launches: try plan.launches(
                program: program, a: a, b: b, c: c,
                scratch: try GEMMScratch(plan.scratchBytes, context: queue.context),
                alpha: scale.0, beta: scale.1, maxWorkGroupSize: device.maxWorkGroupSize, computeUnits: device.computeUnits))
        notes = [
            "kernel \(parameters) (\(parameterSource)), \(dtype.accumulation.rawValue) accumulation",
            "A and B packed into \(dtype.accumulation.rawValue) panels by two kernels before each GEMM, timed with it",
        ]
    }

    func execute() throws -> SampleTime {
        try launches.execute()
    }

    var deviceOutputs: DeviceOutputs { DeviceOutputs(parts: [(c, cCount, dtype)], queue: queue) }
}

/// One GEMM kernel launch plan for `batches` products of one shape stored one after another: pack
/// A, pack B, multiply (in one launch per k slice), over buffers the caller owns, with scratch
/// that GEMMs run one after another on the in-order queue may share.
struct BatchedGEMM {
    let shape: GEMMShape
    /// Which operands are stored transposed: it sets the packing kernels' grids.
    let layout: GEMMLayout
    let batches: Int
    let parameters: GEMMKernelParameters
    let accumulationBytes: Int

    private var rowPanels: Int { (shape.m + parameters.tileRows - 1) / parameters.tileRows }
    private var columnPanels: Int { (shape.n + parameters.panelColumns - 1) / parameters.panelColumns }
    /// Work-items along the rows: each takes a run of consecutive row panels, at most
    /// `rowPanelsPerItem`, fewer where that would leave under four work-items per compute unit (a
    /// small or skinny product on a many-core CPU), and the runs differ by one panel at most. PoCL's
    /// threads take a launch's work-groups in chunks of consecutive ones, up to half of those left,
    /// so runs of unequal length left a thread idle: on a 2-core Zen 4, 43 row panels in runs of 32
    /// and 11 ran 512x768x50257 at 0.71x the rate of runs of 22 and 21.
    func rowGroups(computeUnits: Int) -> Int {
        let most = min(parameters.rowPanelsPerItem, max(1, rowPanels * columnPanels * batches / (4 * max(1, computeUnits))))
        return (rowPanels + most - 1) / most
    }

    var scratchBytes: GEMMScratch.Bytes {
        GEMMScratch.Bytes(
            packedA: batches * rowPanels * parameters.tileRows * shape.k * accumulationBytes,
            packedB: batches * columnPanels * parameters.panelColumns * shape.k * accumulationBytes,
            partialSums: kSlices.count > 1 ? batches * rowPanels * parameters.tileRows * columnPanels * parameters.panelColumns * accumulationBytes : 0)
    }

    /// The k range of each GEMM launch: all of K, or `kSlice` at a time.
    var kSlices: [Range<Int>] {
        let slice = parameters.kSlice > 0 ? parameters.kSlice : shape.k
        return stride(from: 0, to: shape.k, by: slice).map { $0..<min(shape.k, $0 + slice) }
    }

    /// `program` built with `parameters.buildOptions` for this layout (and `A_FLOAT`/`C_FLOAT`
    /// where A or C is fp32); alpha and beta in the accumulation type.
    func launches(
        program: Program, a: Buffer, b: Buffer, c: Buffer, scratch: GEMMScratch, alpha: KernelArgument, beta: KernelArgument,
        maxWorkGroupSize: Int, computeUnits: Int
    ) throws -> [KernelLaunches.Launch] {
        let (m, n, k) = (Int32(shape.m), Int32(shape.n), Int32(shape.k))
        let rowGroups = rowGroups(computeUnits: computeUnits)
        let packA = try program.makeKernel(named: "pack_a", arguments: [.int(m), .int(k), .buffer(a), .buffer(scratch.packedA)])
        let packB = try program.makeKernel(named: "pack_b", arguments: [.int(k), .int(n), .buffer(b), .buffer(scratch.packedB)])
        let gemmGrid = [
            roundUp(columnPanels, parameters.groupColumns), roundUp(rowGroups, parameters.groupRows), batches,
        ]
        let gemms = try kSlices.map { slice in
            let gemm = try program.makeKernel(named: "gemm", arguments: [
                .int(m), .int(n), .int(k), .int(Int32(slice.lowerBound)), .int(Int32(slice.upperBound)), .int(Int32(rowGroups)), alpha, beta,
                .buffer(scratch.packedA), .buffer(scratch.packedB), .buffer(scratch.partialSums), .buffer(c),
            ])
            return KernelLaunches.Launch(kernel: gemm, global: gemmGrid, local: [parameters.groupColumns, parameters.groupRows, 1])
        }
        var side = 16
        while side > 1 && side * side > maxWorkGroupSize { side /= 2 }
        // Packing takes one k per work-item along a contiguous panel, else `packedKBlock` k per
        // work-item in groups that run along k (each row's reads stay on a few pages).
        let kBlocks = (shape.k + GEMMKernelParameters.packedKBlock - 1) / GEMMKernelParameters.packedKBlock
        let packing: [KernelLaunches.Launch] = [
            layout.transposesA
                ? .init(kernel: packA, global: [roundUp(shape.k, side), roundUp(rowPanels, side), batches], local: [side, side, 1])
                : .init(kernel: packA, global: [roundUp(kBlocks, side), rowPanels, batches], local: [side, 1, 1]),
            layout.transposesB
                ? .init(kernel: packB, global: [roundUp(kBlocks, side), columnPanels, batches], local: [side, 1, 1])
                : .init(kernel: packB, global: [roundUp(columnPanels, side), roundUp(shape.k, side), batches], local: [side, side, 1]),
        ]
        return packing + gemms
    }
}

/// The scratch buffers of GEMMs run one after another on an in-order queue, which they may share:
/// packed A, packed B, and the sums carried between the launches of a K in several slices.
struct GEMMScratch {
    struct Bytes {
        var packedA: Int
        var packedB: Int
        /// 0 where K takes one launch.
        var partialSums: Int
    }

    let packedA: Buffer
    let packedB: Buffer
    let partialSums: Buffer

    init(_ bytes: Bytes, context: Context) throws(OpenCLError) {
        packedA = try context.makeBuffer(byteCount: bytes.packedA)
        packedB = try context.makeBuffer(byteCount: bytes.packedB)
        // OpenCL has no empty buffer; a kernel of one launch never touches this one.
        partialSums = try context.makeBuffer(byteCount: max(bytes.partialSums, 64))
    }
}

extension GEMMScratch.Bytes {
    /// Enough for each of `plans`, run one after another.
    init(covering plans: [BatchedGEMM]) {
        let each = plans.map(\.scratchBytes)
        self.init(
            packedA: each.map(\.packedA).max() ?? 0, packedB: each.map(\.packedB).max() ?? 0, partialSums: each.map(\.partialSums).max() ?? 0)
    }
}

extension TunedParameters {
    /// The GEMM kernel parameters for a case on a device: tuned where this table has an entry,
    /// else the device type's defaults; with where they came from.
    func gemmParameters(for gemm: GEMMCase, on device: Device) -> (GEMMKernelParameters, source: String) {
        if let entry = lookup(device: device.name, driver: device.driverVersion, gemm: gemm) {
            return (entry.parameters, "tuned for \(entry.dtype.rawValue) \(entry.layout.rawValue) \(entry.sizeClass.rawValue) at \(entry.tunedAt)")
        }
        let defaults = GEMMKernelParameters.defaults(isCPU: device.isCPU, nativeFloats: device.nativeFloatVectorWidth, dtype: gemm.dtype)
        return (defaults, "default for \(device.kind.rawValue)")
    }
}
