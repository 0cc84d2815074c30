import OpenCLKit

/// The layer ops on one OpenCL device (`LayerOpKernelSource`).
final class OpenCLLayerOpBackend: LayerOpBackend {
    var implementation: String { Implementation.stream.rawValue }
    private let runtime: OpenCLDeviceRuntime
    var device: DeviceDescriptor { runtime.descriptor }
    private let queue: CommandQueue
    private let programCache: ProgramCache?

    init(device: OpenCLDeviceRuntime, programCache: ProgramCache? = nil) throws(OpenCLError) {
        runtime = device
        self.programCache = programCache
        queue = try device.queue()
    }

    /// Row blocks of a norm's backward: a few per compute unit, so every unit keeps busy while
    /// the blocks' partial weight gradients stay small beside the tensors.
    func backwardBlocks(_ layerOp: LayerOpCase) -> Int { min(layerOp.rows, 4 * max(1, runtime.device.computeUnits)) }

    /// Vectors a CPU computes into fp32 before it narrows them to 16-bit storage (`NV`): per work-item
    /// of the elementwise ops and the loss's backward, per block of columns of the norms' backward.
    /// 16 for the ops that take an exponential or a row's terms per value; otherwise 1, a store after
    /// each vector: fp32 has nothing to narrow, the residual (one addition a value) ran slower in
    /// blocks, and a GPU would spend registers and lose its coalesced loads.
    func narrowingVectors(_ layerOp: LayerOpCase) -> Int {
        runtime.device.isCPU && layerOp.dtype.storageBytes == 2 && layerOp.op != .residual ? 16 : 1
    }

    /// Device bytes: the op's tensors as stored, row statistics, and the partial weight gradients.
    func deviceBytes(_ layerOp: LayerOpCase) -> (largest: Double, total: Double) {
        let tensor = Double(layerOp.elements * layerOp.dtype.storageBytes)
        let tensors = layerOp.minimumTrafficBytes + 2 * Double(backwardBlocks(layerOp) * layerOp.width) * 4
        return (tensor, tensors)
    }

    func unsupportedReason(_ layerOp: LayerOpCase) -> String? {
        let (largest, total) = deviceBytes(layerOp)
        let device = runtime.device
        if largest > Double(device.maxAllocationBytes) {
            return "needs a \(formatBytes(largest)) buffer; device allows \(formatBytes(Double(device.maxAllocationBytes)))"
        }
        if total > Double(device.globalMemoryBytes) {
            return "needs \(formatBytes(total)) of device memory; device has \(formatBytes(Double(device.globalMemoryBytes)))"
        }
        return nil
    }

    func prepare(_ inputs: LayerOpInputs) throws -> PreparedKernel {
        if let reason = unsupportedReason(inputs.layerOp) { throw UsageError(reason) }
        let (groupSize, vectorWidth) = OpenCLRowKernels.shape(on: runtime.device)
        let vectors = narrowingVectors(inputs.layerOp)
        let options = "\(inputs.layerOp.dtype.kernelTypeOption) -D VW=\(vectorWidth) -D LG=\(groupSize) -D NV=\(vectors)"
        let program = try runtime.program(source: LayerOpKernelSource.text, options: options, disk: programCache)
        return try OpenCLPreparedLayerOp(
            inputs, program: program, queue: queue, groupSize: groupSize, vectorWidth: vectorWidth, narrowingVectors: vectors,
            blocks: backwardBlocks(inputs.layerOp))
    }

    func prepareCopy(bytesMoved: Double) throws -> MemoryCopy {
        try OpenCLMemoryCopy(bytesMoved: bytesMoved, runtime: runtime, queue: queue, programCache: programCache)
    }
}

/// An OpenCL device's memory copy beside the layer ops: the copy probe's kernel, each buffer at
/// most the largest allocation the device allows.
final class OpenCLMemoryCopy: MemoryCopy {
    let notes: [String] = []
    let bytesMoved: Double
    private let launches: KernelLaunches

    init(bytesMoved: Double, runtime: OpenCLDeviceRuntime, queue: CommandQueue, programCache: ProgramCache?) throws {
        let perItem = PeakKernelSource.float4sPerItem(isCPU: runtime.device.isCPU)
        let bufferBytes = min(bytesMoved / 2, Double(runtime.device.maxAllocationBytes))
        let items = max(1, Int(bufferBytes) / 16 / perItem), float4s = items * perItem
        self.bytesMoved = Double(2 * 16 * float4s)
        let program = try runtime.program(
            source: PeakKernelSource.bandwidth, options: PeakKernelSource.bandwidthOptions(perItem: perItem), disk: programCache)
        let source = try queue.upload([Float](repeating: 1, count: 4 * float4s))
        let destination = try queue.context.makeBuffer(byteCount: 16 * float4s)
        let kernel = try program.makeKernel(named: "bw_copy", arguments: [.buffer(source), .buffer(destination)])
        launches = KernelLaunches(queue: queue, launches: [.init(kernel: kernel, global: [items], local: nil)])
    }

    func execute() throws -> SampleTime { try launches.execute() }

    func result() throws -> [Double] { [] }
}

final class OpenCLPreparedLayerOp: DeviceOutputKernel {
    let notes: [String]
    private let launches: KernelLaunches
    private let queue: CommandQueue
    private let layerOp: LayerOpCase
    /// The outputs in result order, each with its element count and whether it is stored as fp32.
    private let outputs: [(buffer: Buffer, count: Int, dtype: DType)]

    init(
        _ inputs: LayerOpInputs, program: Program, queue: CommandQueue, groupSize: Int, vectorWidth: Int, narrowingVectors: Int, blocks: Int
    ) throws {
        let layerOp = inputs.layerOp
        self.layerOp = layerOp
        self.queue = queue
        let context = queue.context
        let (rows, width, dtype, n) = (layerOp.rows, layerOp.width, layerOp.dtype, layerOp.elements)
        let (rowCount, widthArgument, count) = (Int32(rows), Int32(width), Int32(n))
        let stored = { (values: [Double]) throws -> Buffer in try upload(StoredElements(values, as: dtype), queue) }
        let tensor = { (elements: Int) throws -> Buffer in try context.makeBuffer(byteCount: max(1, elements) * dtype.storageBytes) }
        let floats = { (elements: Int) throws -> Buffer in try context.makeBuffer(byteCount: max(1, elements) * 4) }
        let x = try stored(inputs.x), epsilon = Float(LayerOp.normEpsilon)
        let perRow = { (kernel: Kernel) in KernelLaunches.Launch(kernel: kernel, global: [rows * groupSize], local: [groupSize]) }
        let elementsPerItem = vectorWidth * narrowingVectors
        let perElement = { (kernel: Kernel) in KernelLaunches.Launch(kernel: kernel, global: [(n + elementsPerItem - 1) / elementsPerItem], local: nil) }
        let rowsPerBlock = (rows + blocks - 1) / blocks
        /// A norm backward's blocks, then the column sums of their `gradients` partial rows into `into`.
        func blocked(_ kernel: Kernel, partial: Buffer, gradients: Int, into output: Buffer) throws -> [KernelLaunches.Launch] {
            let sums = try program.makeKernel(named: "column_sums", arguments: [.int(widthArgument), .int(Int32(blocks)), .buffer(partial), .buffer(output)])
            return [
                .init(kernel: kernel, global: [blocks * groupSize], local: [groupSize]),
                .init(kernel: sums, global: [roundUp(width, groupSize), gradients], local: nil),
            ]
        }

        var launches: [KernelLaunches.Launch]
        switch (layerOp.op, layerOp.pass) {
        case (.rmsnorm, .forward):
            let (y, rstd) = (try tensor(n), try floats(rows))
            outputs = [(y, n, dtype)]
            launches = [perRow(try program.makeKernel(named: "rmsnorm_forward", arguments: [
                .int(widthArgument), .float(epsilon), .buffer(x), .buffer(try stored(inputs.weight)), .buffer(y), .buffer(rstd),
            ]))]
        case (.rmsnorm, .backward):
            let (dx, dw, partial) = (try tensor(n), try tensor(width), try floats(blocks * width))
            outputs = [(dx, n, dtype), (dw, width, dtype)]
            let kernel = try program.makeKernel(named: "rmsnorm_backward", arguments: [
                .int(rowCount), .int(widthArgument), .int(Int32(rowsPerBlock)), .buffer(x), .buffer(try stored(inputs.weight)),
                .buffer(try stored(inputs.gradOutput)), .buffer(try queue.upload(inputs.rstd)), .buffer(dx), .buffer(partial),
            ])
            launches = try blocked(kernel, partial: partial, gradients: 1, into: dw)
        case (.layernorm, .forward):
            let y = try tensor(n)
            outputs = [(y, n, dtype)]
            launches = [perRow(try program.makeKernel(named: "layernorm_forward", arguments: [
                .int(widthArgument), .float(epsilon), .buffer(x), .buffer(try stored(inputs.weight)), .buffer(try stored(inputs.bias)),
                .buffer(y), .buffer(try floats(rows)), .buffer(try floats(rows)),
            ]))]
        case (.layernorm, .backward):
            // dw and db in one buffer, so one column-sum launch writes both.
            let (dx, gradients, partial) = (try tensor(n), try tensor(2 * width), try floats(2 * blocks * width))
            outputs = [(dx, n, dtype), (gradients, 2 * width, dtype)]
            let kernel = try program.makeKernel(named: "layernorm_backward", arguments: [
                .int(rowCount), .int(widthArgument), .int(Int32(rowsPerBlock)), .buffer(x), .buffer(try stored(inputs.weight)),
                .buffer(try stored(inputs.gradOutput)), .buffer(try queue.upload(inputs.mean)), .buffer(try queue.upload(inputs.rstd)),
                .buffer(dx), .buffer(partial),
            ])
            launches = try blocked(kernel, partial: partial, gradients: 2, into: gradients)
        case (.gelu, .forward):
            let y = try tensor(n)
            outputs = [(y, n, dtype)]
            launches = [perElement(try program.makeKernel(named: "gelu_forward", arguments: [.int(count), .buffer(x), .buffer(y)]))]
        case (.gelu, .backward):
            let dx = try tensor(n)
            outputs = [(dx, n, dtype)]
            launches = [perElement(try program.makeKernel(named: "gelu_backward", arguments: [
                .int(count), .buffer(x), .buffer(try stored(inputs.gradOutput)), .buffer(dx),
            ]))]
        case (.swiglu, .forward):
            let y = try tensor(n)
            outputs = [(y, n, dtype)]
            launches = [perElement(try program.makeKernel(named: "swiglu_forward", arguments: [
                .int(count), .buffer(x), .buffer(try stored(inputs.other)), .buffer(y),
            ]))]
        case (.swiglu, .backward):
            let (dgate, dup) = (try tensor(n), try tensor(n))
            outputs = [(dgate, n, dtype), (dup, n, dtype)]
            launches = [perElement(try program.makeKernel(named: "swiglu_backward", arguments: [
                .int(count), .buffer(x), .buffer(try stored(inputs.other)), .buffer(try stored(inputs.gradOutput)), .buffer(dgate), .buffer(dup),
            ]))]
        case (.residual, _):
            let y = try tensor(n)
            outputs = [(y, n, dtype)]
            launches = [perElement(try program.makeKernel(named: "add", arguments: [.int(count), .buffer(x), .buffer(try stored(inputs.other)), .buffer(y)]))]
        case (.rotary, let pass):
            let headDim = layerOp.headDim ?? 2
            let y = try tensor(n)
            outputs = [(y, n, dtype)]
            let source = pass == .backward ? try stored(inputs.gradOutput) : x
            let kernel = try program.makeKernel(named: "rotary", arguments: [
                .int(Int32(headDim)), .int(Int32(width / headDim)), .float(pass == .backward ? -1 : 1), .buffer(source),
                .buffer(try queue.upload(inputs.cos)), .buffer(try queue.upload(inputs.sin)), .buffer(y),
            ])
            let pairVectors = (headDim / 2 + vectorWidth - 1) / vectorWidth
            launches = [.init(kernel: kernel, global: [rows * width / headDim * pairVectors], local: nil)]
        case (.crossEntropy, .forward):
            let loss = try floats(rows)
            outputs = [(loss, rows, .fp32)]
            launches = [perRow(try program.makeKernel(named: "cross_entropy_forward", arguments: [
                .int(widthArgument), .buffer(x), .buffer(try queue.upload(inputs.targets)), .buffer(loss), .buffer(try floats(rows)),
            ]))]
        case (.crossEntropy, .backward):
            let gradLogits = try tensor(n)
            outputs = [(gradLogits, n, dtype)]
            let kernel = try program.makeKernel(named: "cross_entropy_backward", arguments: [
                .int(widthArgument), .float(1 / Float(rows)), .buffer(x), .buffer(try queue.upload(inputs.targets)),
                .buffer(try queue.upload(inputs.logsumexp)), .buffer(gradLogits),
            ])
            launches = [.init(kernel: kernel, global: [(width + elementsPerItem - 1) / elementsPerItem, rows], local: nil)]
        }
        self.launches = KernelLaunches(queue: queue, launches: launches)
        // An elementwise work-item's values: one vector, or a block computed in fp32 and then narrowed.
        let perItem = narrowingVectors > 1 ? "\(elementsPerItem) (computed in fp32, then narrowed)" : "\(vectorWidth)"
        let shape = switch layerOp.op {
        case .rmsnorm, .layernorm:
            layerOp.pass == .forward
                ? "a work-group of \(groupSize) per row"
                : "\(blocks) blocks of \(rowsPerBlock) rows, then their weight gradients summed"
                    + (narrowingVectors > 1 ? "; dx computed \(elementsPerItem) columns at a time in fp32, then narrowed" : "")
        case .crossEntropy:
            layerOp.pass == .forward ? "a work-group of \(groupSize) per row, one read: blocks of maxima, then their exponentials" : "\(perItem) logits per work-item"
        case .gelu, .swiglu, .residual: "\(perItem) elements per work-item"
        case .rotary: "\(vectorWidth) pairs of a head per work-item"
        }
        notes = ["NodeBench layer-op kernel: \(shape), \(vectorWidth)-wide vectors; fp32 arithmetic on the stored tensors"]
    }

    func execute() throws -> SampleTime { try launches.execute() }

    var deviceOutputs: DeviceOutputs { DeviceOutputs(parts: outputs, queue: queue) }
}
