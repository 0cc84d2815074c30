import OpenCLKit

/// The flash backward on one OpenCL device: dQ, dK and dV from dO, with the O and logsumexps of
/// one untimed flash forward on the same device (whose program holds the backward kernels too).
/// Q and dO are packed and D = rowsum(dO * O) computed first; then one sweep over the keys (CPUs)
/// or two (GPUs), as `FlashKernelParameters.backwardSweeps` chooses.
final class OpenCLPreparedAttentionBackward: DeviceOutputKernel {
    let notes: [String]
    private let launches: KernelLaunches
    private let queue: CommandQueue
    private let gradients: (q: Buffer, k: Buffer, v: Buffer)
    private let attention: AttentionCase
    /// Holds the forward's O and logsumexp buffers.
    private let forward: OpenCLPreparedAttention

    init(
        _ inputs: AttentionInputs, forward: OpenCLPreparedAttention, parameters: FlashKernelParameters, device: Device
    ) throws {
        attention = inputs.attention
        self.forward = forward
        queue = forward.queue
        _ = try forward.execute()
        let operands = try FlashBackwardOperands(inputs, forward: forward, parameters: parameters, isCPU: device.isCPU)
        gradients = operands.gradients
        let plan = parameters.backwardSweeps(isCPU: device.isCPU) == 1
            ? try operands.oneSweep(parameters: parameters, device: device)
            : try operands.twoSweeps(parameters: parameters, isCPU: device.isCPU)
        // The packing is part of the pass: each execution widens and lays out its inputs anew.
        launches = KernelLaunches(queue: queue, stages: [
            .init(name: "packing", flops: nil, launches: operands.packing + plan.packing),
            .init(name: "D = rowsum(dO·O)", flops: nil, launches: [operands.deltaLaunch]),
        ] + plan.stages)
        notes = [
            "O and the logsumexps from one untimed flash forward (\(parameters))",
            "backward: Q, K, V and dO widened to fp32 and packed as rows, and as \(parameters.vectorWidth)-row panels where a sweep reads them; "
                + "D = rowsum(dO * O); "
                + plan.note + "; probabilities recomputed from the logsumexps, fp32 sums, no S x S matrix and no atomics; packing timed",
        ]
    }

    func execute() throws -> SampleTime {
        try launches.execute()
    }

    var stages: [CaseResult.Stage] { launches.stageTimes?.summaries ?? [] }

    var deviceOutputs: DeviceOutputs { DeviceOutputs(gradients: gradients, of: attention, queue: queue) }
}

/// What both backward plans read, on the device: Q and dO as fp32 rows and scaled panels, D and the
/// logsumexps in log2 units, K and V as stored; and the gradients they write.
private struct FlashBackwardOperands {
    typealias Launch = KernelLaunches.Launch

    let shape: AttentionShape
    let packer: FlashBackwardPacker
    let scale: Double
    /// Q's and K's panels carry log2(e)/sqrt(D), so scores come out in log2 units.
    let scoreFactor: Double
    let q: (rows: Buffer, panels: Buffer)
    let gradOutput: (rows: Buffer, panels: Buffer)
    let stored: (k: Buffer, v: Buffer)
    let delta: Buffer
    let logsumexp2: Buffer
    let gradients: (q: Buffer, k: Buffer, v: Buffer)
    /// Packing Q and dO.
    let packing: [Launch]
    /// D = rowsum(dO * O), and the logsumexps in log2 units.
    let deltaLaunch: Launch

    private var program: Program { packer.program }
    private var queryHeads: Int { shape.batch * shape.heads }
    private var keyHeads: Int { shape.batch * shape.kvHeads }
    /// The sweeps' leading arguments: S, padded rows, heads, key/value heads.
    private var sizes: [KernelArgument] {
        [.int(Int32(shape.seq)), .int(Int32(packer.rows)), .int(Int32(shape.heads)), .int(Int32(shape.kvHeads))]
    }

    init(_ inputs: AttentionInputs, forward: OpenCLPreparedAttention, parameters: FlashKernelParameters, isCPU: Bool) throws {
        shape = inputs.attention.shape
        let context = forward.queue.context, rows = parameters.backwardPaddedRows(shape.seq, isCPU: isCPU)
        packer = FlashBackwardPacker(
            program: forward.program, context: context, seq: shape.seq, rows: rows, headDim: parameters.paddedHeadDim(shape.headDim),
            vectorWidth: parameters.vectorWidth)
        scale = 1 / Double(shape.headDim).squareRoot()
        scoreFactor = 1.4426950408889634 * scale
        let dtype = inputs.attention.dtype, queue = forward.queue, heads = shape.batch * shape.heads
        func upload(_ values: [Double]) throws -> Buffer { try NodeBenchKit.upload(StoredElements(values, as: dtype), queue) }
        stored = (try upload(inputs.k), try upload(inputs.v))
        let storedGradOutput = try upload(inputs.gradOutput)
        let packedQ = try packer.rowsAndPanels(try upload(inputs.q), heads: heads, factor: scoreFactor)
        let packedGradOutput = try packer.rowsAndPanels(storedGradOutput, heads: heads, factor: 1)
        q = (packedQ.rows, packedQ.panels)
        gradOutput = (packedGradOutput.rows, packedGradOutput.panels)
        delta = try context.makeBuffer(byteCount: heads * rows * 4)
        logsumexp2 = try context.makeBuffer(byteCount: heads * rows * 4)
        gradients = (
            try context.makeBuffer(byteCount: shape.queryElements * dtype.storageBytes),
            try context.makeBuffer(byteCount: shape.keyElements * dtype.storageBytes),
            try context.makeBuffer(byteCount: shape.keyElements * dtype.storageBytes)
        )
        let deltaKernel = try forward.program.makeKernel(named: "bwd_delta", arguments: [
            .int(Int32(shape.seq)), .int(Int32(rows)), .buffer(forward.output), .buffer(storedGradOutput), .buffer(forward.logsumexpBuffer),
            .buffer(delta), .buffer(logsumexp2),
        ])
        packing = [packedQ.launch, packedGradOutput.launch]
        deltaLaunch = .init(kernel: deltaKernel, global: [rows, heads], local: nil)
    }

    /// One matrix product's FLOPs (S·S·D multiply-adds per head, halved with causal masking): a
    /// sweep's stage counts the products it computes.
    private var productFlops: Double { shape.flops / 2 }

    /// A CPU's plan: one sweep over the keys gives dK, dV and dQ partials (`bwd_sweep`), then
    /// `bwd_dq_sum` adds the partials. K and V are read only as rows.
    func oneSweep(parameters: FlashKernelParameters, device: Device) throws -> FlashBackwardPlan {
        let (k, v) = (try packer.rowsOnly(stored.k, heads: keyHeads), try packer.rowsOnly(stored.v, heads: keyHeads))
        let chunks = parameters.backwardChunks(seq: shape.seq, keyValueHeads: keyHeads, computeUnits: device.computeUnits, isCPU: device.isCPU)
        let partials = try packer.context.makeBuffer(byteCount: chunks * queryHeads * packer.rows * packer.headDim * 4)
        // The running fp32 dK and dV of every key row, carried from one query block to the next.
        let running = try packer.context.makeBuffer(byteCount: keyHeads * packer.rows * 2 * packer.headDim * 4)
        let sweep = try program.makeKernel(named: "bwd_sweep", arguments: sizes + [
            .int(Int32(chunks)), .float(Float(scale)), .buffer(q.rows), .buffer(q.panels), .buffer(k.rows), .buffer(v.rows),
            .buffer(gradOutput.rows), .buffer(gradOutput.panels), .buffer(delta), .buffer(logsumexp2), .buffer(running), .buffer(partials),
            .buffer(gradients.k), .buffer(gradients.v),
        ])
        let sum = try program.makeKernel(named: "bwd_dq_sum", arguments: [
            .int(Int32(shape.seq)), .int(Int32(packer.rows)), .int(Int32(chunks)), .buffer(partials), .buffer(gradients.q),
        ])
        let keyRows = parameters.backwardKeyRows(isCPU: device.isCPU)
        let queryRows = parameters.backwardQueryBlockPanels(shape.headDim) * parameters.vectorWidth
        return FlashBackwardPlan(
            packing: [k.launch, v.launch],
            stages: [
                .init(name: "sweep: dK, dV, dQ partials", flops: 5 * productFlops, launches: [
                    .init(kernel: sweep, global: [chunks, keyHeads], local: [1, 1]),
                ]),
                .init(name: "dQ partials summed", flops: nil, launches: [
                    .init(kernel: sum, global: [packer.rows / packer.vectorWidth, queryHeads], local: nil),
                ]),
            ],
            note: "then one sweep over the keys, \(keyRows) key rows at a time against blocks of \(queryRows) query rows, gives dK, dV and dQ (scores and dP computed once; "
                + "dQ added into \(chunks) fp32 partial\(chunks == 1 ? "" : "s") per head and summed)")
    }

    /// A GPU's plan: `bwd_dkdv` (each work-item owns key rows and sweeps the queries), then `bwd_dq`
    /// (each owns query rows and sweeps the keys), both recomputing the scores and dP.
    func twoSweeps(parameters: FlashKernelParameters, isCPU: Bool) throws -> FlashBackwardPlan {
        let k = try packer.rowsAndPanels(stored.k, heads: keyHeads, factor: scoreFactor)
        let v = try packer.rowsAndPanels(stored.v, heads: keyHeads, factor: 1)
        let keyKernel = try program.makeKernel(named: "bwd_dkdv", arguments: sizes + [
            .float(Float(scale)), .buffer(q.rows), .buffer(q.panels), .buffer(k.rows), .buffer(v.rows), .buffer(gradOutput.rows),
            .buffer(gradOutput.panels), .buffer(delta), .buffer(logsumexp2), .buffer(gradients.k), .buffer(gradients.v),
        ])
        let queryKernel = try program.makeKernel(named: "bwd_dq", arguments: sizes + [
            .float(Float(scale)), .buffer(q.rows), .buffer(k.rows), .buffer(k.panels), .buffer(v.panels), .buffer(gradOutput.rows),
            .buffer(delta), .buffer(logsumexp2), .buffer(gradients.q),
        ])
        let group = parameters.groupSize, keyRows = parameters.backwardKeyRows(isCPU: isCPU)
        let keyBlocks = (shape.seq + keyRows - 1) / keyRows, queryBlocks = (shape.seq + parameters.tileRows - 1) / parameters.tileRows
        return FlashBackwardPlan(
            packing: [k.launch, v.launch],
            stages: [
                .init(name: "dK, dV sweep", flops: 4 * productFlops, launches: [
                    .init(kernel: keyKernel, global: [roundUp(keyBlocks, group), keyHeads], local: [group, 1]),
                ]),
                .init(name: "dQ sweep", flops: 3 * productFlops, launches: [
                    .init(kernel: queryKernel, global: [roundUp(queryBlocks, group), queryHeads], local: [group, 1]),
                ]),
            ],
            note: "then \(keyRows) key rows per work-item for dK and dV, \(parameters.tileRows) query rows per work-item for dQ "
                + "(scores and dP computed in both)")
    }
}

/// One of the backward's plans: its packing of K and V, the stages that follow D, and a note.
private struct FlashBackwardPlan {
    let packing: [KernelLaunches.Launch]
    let stages: [KernelLaunches.Stage]
    let note: String
}

/// Widens stored tensors to fp32 rows, padded to `rows` per head and to `headDim` (whole vectors),
/// with the backward's packing kernels.
private struct FlashBackwardPacker {
    let program: Program
    let context: Context
    let seq: Int
    let rows: Int
    let headDim: Int
    /// Rows per packing work-item: one panel.
    let vectorWidth: Int

    /// One tensor as rows and, scaled by `factor`, as panels.
    func rowsAndPanels(_ stored: Buffer, heads: Int, factor: Double) throws -> (launch: KernelLaunches.Launch, rows: Buffer, panels: Buffer) {
        let rowCopy = try context.makeBuffer(byteCount: heads * rows * headDim * 4)
        let panelCopy = try context.makeBuffer(byteCount: heads * rows * headDim * 4)
        let kernel = try program.makeKernel(named: "bwd_pack", arguments: [
            .int(Int32(seq)), .int(Int32(rows)), .float(Float(factor)), .buffer(stored), .buffer(rowCopy), .buffer(panelCopy),
        ])
        return (.init(kernel: kernel, global: [rows / vectorWidth, heads], local: nil), rowCopy, panelCopy)
    }

    /// One tensor as rows alone.
    func rowsOnly(_ stored: Buffer, heads: Int) throws -> (launch: KernelLaunches.Launch, rows: Buffer) {
        let rowCopy = try context.makeBuffer(byteCount: heads * rows * headDim * 4)
        let kernel = try program.makeKernel(named: "bwd_pack_rows", arguments: [.int(Int32(seq)), .int(Int32(rows)), .buffer(stored), .buffer(rowCopy)])
        return (.init(kernel: kernel, global: [rows / vectorWidth, heads], local: nil), rowCopy)
    }
}
