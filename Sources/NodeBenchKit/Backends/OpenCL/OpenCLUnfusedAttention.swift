import OpenCLKit

/// Attention as a framework's math path runs it, on one OpenCL device (`naive`): the scores
/// `scale·Q·Kᵀ` and the output `P·V` are NodeBench GEMMs with the device's tuned parameters, a
/// softmax kernel runs between them, and the `B·H·S·S` fp32 score matrix lives in memory. The
/// backward keeps the forward's P (as autograd does) and runs dV = Pᵀ·dO, dP = dO·Vᵀ, softmax's
/// backward, dQ = scale·dS·K and dK = scale·dSᵀ·Q. Under GQA the query heads of one KV head are
/// one matrix of G·S rows (they are stored next to each other), so every GEMM is a batch of
/// B·HKV equal products and dK, dV sum over the group inside their GEMM.
struct UnfusedAttentionPlan {
    let attention: AttentionCase
    /// GEMM kernel parameters for a product of this shape, layout and type.
    let gemmParameters: (GEMMCase) -> GEMMKernelParameters

    /// One of the path's matrix products, and which of its operands are fp32 rather than stored.
    struct Product {
        let gemm: GEMMCase
        let batched: BatchedGEMM
        let floatA: Bool
        let floatC: Bool

        /// Every batch's multiply-adds, counted twice.
        var flops: Double { gemm.shape.flops * Double(batched.batches) }

        var buildOptions: String {
            batched.parameters.buildOptions(dtype: gemm.dtype, layout: gemm.layout) + (floatA ? " -D A_FLOAT" : "") + (floatC ? " -D C_FLOAT" : "")
        }
    }

    private func product(m: Int, n: Int, k: Int, _ layout: GEMMLayout, alpha: Double = 1, floatA: Bool = false, floatC: Bool = false) -> Product {
        let shape = attention.shape
        let gemm = GEMMCase(shape: GEMMShape(m: m, n: n, k: k), layout: layout, dtype: attention.dtype, alpha: alpha)
        let parameters = gemmParameters(gemm)
        return Product(
            gemm: gemm, batched: BatchedGEMM(shape: gemm.shape, layout: layout, batches: shape.batch * shape.kvHeads, parameters: parameters, accumulationBytes: 4),
            floatA: floatA, floatC: floatC)
    }

    private var groupRows: Int { attention.shape.heads / attention.shape.kvHeads * attention.shape.seq }
    private var scale: Double { 1 / Double(attention.shape.headDim).squareRoot() }

    /// scores = scale·Q·Kᵀ, then O = P·V.
    var forward: (scores: Product, output: Product) {
        let (s, d) = (attention.shape.seq, attention.shape.headDim)
        return (
            product(m: groupRows, n: s, k: d, .nt, alpha: scale, floatC: true),
            product(m: groupRows, n: d, k: s, .nn, floatA: true)
        )
    }

    /// dV = Pᵀ·dO, dP = dO·Vᵀ, dQ = scale·dS·K, dK = scale·dSᵀ·Q.
    var backward: (values: Product, probabilities: Product, queries: Product, keys: Product) {
        let (s, d) = (attention.shape.seq, attention.shape.headDim)
        return (
            product(m: s, n: d, k: groupRows, .tn, floatA: true),
            product(m: groupRows, n: s, k: d, .nt, floatC: true),
            product(m: groupRows, n: d, k: s, .nn, alpha: scale, floatA: true),
            product(m: s, n: d, k: groupRows, .tn, alpha: scale, floatA: true)
        )
    }

    var scoreBytes: Int { attention.shape.batch * attention.shape.heads * attention.shape.seq * attention.shape.seq * 4 }

    /// The GEMM scratch the products share, run one after another.
    static func scratchBytes(_ products: [Product]) -> GEMMScratch.Bytes {
        GEMMScratch.Bytes(covering: products.map(\.batched))
    }

    /// Device buffers beyond the stored tensors, as (name, bytes).
    var workspace: [(String, Double)] {
        let forwardScratch = Self.scratchBytes([forward.scores, forward.output])
        var buffers = [("scores", Double(scoreBytes))] + Self.listed(forwardScratch, prefix: "")
        if attention.pass == .backward {
            let products = backward
            let scratch = Self.scratchBytes([products.values, products.probabilities, products.queries, products.keys])
            buffers += [("dP", Double(scoreBytes))] + Self.listed(scratch, prefix: "backward ")
        }
        return buffers
    }

    private static func listed(_ scratch: GEMMScratch.Bytes, prefix: String) -> [(String, Double)] {
        [(prefix + "packed A", Double(scratch.packedA)), (prefix + "packed B", Double(scratch.packedB))]
            + (scratch.partialSums > 0 ? [(prefix + "partial sums", Double(scratch.partialSums))] : [])
    }
}

/// The unfused forward's buffers and launches.
final class OpenCLUnfusedAttention: DeviceOutputKernel {
    let notes: [String]
    private let launches: KernelLaunches
    let queue: CommandQueue
    let tensors: (q: Buffer, k: Buffer, v: Buffer)
    let output: Buffer
    /// P after an execution: the backward reads it.
    let probabilities: Buffer
    private let attention: AttentionCase

    init(_ inputs: AttentionInputs, plan: UnfusedAttentionPlan, runtime: OpenCLDeviceRuntime, queue: CommandQueue, programCache: ProgramCache?) throws {
        attention = inputs.attention
        self.queue = queue
        let shape = attention.shape, dtype = attention.dtype, context = queue.context
        tensors = (
            try upload(StoredElements(inputs.q, as: dtype), queue), try upload(StoredElements(inputs.k, as: dtype), queue),
            try upload(StoredElements(inputs.v, as: dtype), queue)
        )
        output = try context.makeBuffer(byteCount: shape.queryElements * dtype.storageBytes)
        probabilities = try context.makeBuffer(byteCount: plan.scoreBytes)
        let logsumexp = try context.makeBuffer(byteCount: shape.queryRows * 4)
        let products = plan.forward
        let scratch = UnfusedAttentionPlan.scratchBytes([products.scores, products.output])
        let gemmScratch = try GEMMScratch(scratch, context: context)
        let kernels = try UnfusedAttentionKernels(attention, runtime: runtime, programCache: programCache)
        launches = KernelLaunches(queue: queue, stages: [
            try kernels.stage("S = scale·Q·Kᵀ", products.scores, a: tensors.q, b: tensors.k, c: probabilities, scratch: gemmScratch),
            .init(name: "softmax", flops: nil, launches: [try kernels.rows("softmax_rows", probabilities, logsumexp)]),
            try kernels.stage("O = P·V", products.output, a: probabilities, b: tensors.v, c: output, scratch: gemmScratch),
        ])
        notes = [
            "unfused: scores = scale·Q·Kᵀ and O = P·V as NodeBench GEMMs (\(products.scores.batched.parameters), "
                + "\(products.output.batched.parameters)), batched over B·HKV; a softmax kernel of \(kernels.rowKernelShape) "
                + "between them; the fp32 B·H·S·S score matrix in memory",
        ]
    }

    func execute() throws -> SampleTime {
        try launches.execute()
    }

    var stages: [CaseResult.Stage] { launches.stageTimes?.summaries ?? [] }

    var deviceOutputs: DeviceOutputs { DeviceOutputs(parts: [(output, attention.shape.queryElements, attention.dtype)], queue: queue) }
}

/// The unfused backward: dQ, dK and dV from dO and the P of one untimed unfused forward.
final class OpenCLUnfusedAttentionBackward: DeviceOutputKernel {
    let notes: [String]
    private let launches: KernelLaunches
    private let queue: CommandQueue
    private let gradients: (q: Buffer, k: Buffer, v: Buffer)
    private let attention: AttentionCase
    /// Holds the forward's P and inputs.
    private let forward: OpenCLUnfusedAttention

    init(
        _ inputs: AttentionInputs, forward: OpenCLUnfusedAttention, plan: UnfusedAttentionPlan, runtime: OpenCLDeviceRuntime,
        programCache: ProgramCache?
    ) throws {
        attention = inputs.attention
        self.forward = forward
        queue = forward.queue
        _ = try forward.execute()
        let shape = attention.shape, dtype = attention.dtype, context = queue.context
        let gradOutput = try upload(StoredElements(inputs.gradOutput, as: dtype), queue)
        gradients = (
            try context.makeBuffer(byteCount: shape.queryElements * dtype.storageBytes),
            try context.makeBuffer(byteCount: shape.keyElements * dtype.storageBytes),
            try context.makeBuffer(byteCount: shape.keyElements * dtype.storageBytes)
        )
        let gradScores = try context.makeBuffer(byteCount: plan.scoreBytes)
        let products = plan.backward
        let scratch = UnfusedAttentionPlan.scratchBytes([products.values, products.probabilities, products.queries, products.keys])
        let gemmScratch = try GEMMScratch(scratch, context: context)
        let kernels = try UnfusedAttentionKernels(attention, runtime: runtime, programCache: programCache)
        let (q, k, v) = forward.tensors
        launches = KernelLaunches(queue: queue, stages: [
            try kernels.stage("dV = Pᵀ·dO", products.values, a: forward.probabilities, b: gradOutput, c: gradients.v, scratch: gemmScratch),
            try kernels.stage("dP = dO·Vᵀ", products.probabilities, a: gradOutput, b: v, c: gradScores, scratch: gemmScratch),
            .init(name: "softmax backward", flops: nil, launches: [try kernels.rows("softmax_backward_rows", forward.probabilities, gradScores)]),
            try kernels.stage("dQ = scale·dS·K", products.queries, a: gradScores, b: k, c: gradients.q, scratch: gemmScratch),
            try kernels.stage("dK = scale·dSᵀ·Q", products.keys, a: gradScores, b: q, c: gradients.k, scratch: gemmScratch),
        ])
        notes = [
            "P from one untimed unfused forward, kept in memory as autograd keeps it",
            "unfused backward: dV = Pᵀ·dO, dP = dO·Vᵀ, dQ = scale·dS·K, dK = scale·dSᵀ·Q as NodeBench GEMMs batched over B·HKV "
                + "(\([products.values, products.probabilities, products.queries, products.keys].map { "\($0.gemm.layout.rawValue) \($0.batched.parameters)" }.joined(separator: ", "))); "
                + "softmax's backward dS = P·(dP - rowsum(P·dP)) by a kernel of \(kernels.rowKernelShape)",
        ]
    }

    func execute() throws -> SampleTime {
        try launches.execute()
    }

    var stages: [CaseResult.Stage] { launches.stageTimes?.summaries ?? [] }

    var deviceOutputs: DeviceOutputs { DeviceOutputs(gradients: gradients, of: attention, queue: queue) }
}

/// The programs of the unfused path: one per GEMM variant, and the row kernels.
private struct UnfusedAttentionKernels {
    let runtime: OpenCLDeviceRuntime
    let programCache: ProgramCache?
    let rowProgram: Program
    let rowShape: (groupSize: Int, vectorWidth: Int)
    let rowCount: Int
    let seq: Int

    init(_ attention: AttentionCase, runtime: OpenCLDeviceRuntime, programCache: ProgramCache?) throws {
        self.runtime = runtime
        self.programCache = programCache
        let shape = attention.shape
        rowShape = OpenCLRowKernels.shape(on: runtime.device)
        rowCount = shape.queryRows
        seq = shape.seq
        rowProgram = try runtime.program(
            source: SoftmaxKernelSource.text,
            options: "-D NB_FP32 -D CAUSAL=\(shape.causal ? 1 : 0) -D VW=\(rowShape.vectorWidth) -D LG=\(rowShape.groupSize)",
            disk: programCache)
    }

    /// How the row kernels run, for the notes.
    var rowKernelShape: String { "\(rowShape.groupSize) work-items per row, \(rowShape.vectorWidth)-wide vectors" }

    /// A softmax-row kernel over every query row: (S, first, second).
    func rows(_ name: String, _ first: Buffer, _ second: Buffer) throws -> KernelLaunches.Launch {
        let kernel = try rowProgram.makeKernel(named: name, arguments: [.int(Int32(seq)), .buffer(first), .buffer(second)])
        return .init(kernel: kernel, global: [rowShape.groupSize * rowCount], local: [rowShape.groupSize])
    }

    /// One matrix product as a stage of the path: its packing and GEMM launches.
    func stage(
        _ name: String, _ product: UnfusedAttentionPlan.Product, a: Buffer, b: Buffer, c: Buffer, scratch: GEMMScratch
    ) throws -> KernelLaunches.Stage {
        .init(name: name, flops: product.flops, launches: try gemm(product, a: a, b: b, c: c, scratch: scratch))
    }

    private func gemm(_ product: UnfusedAttentionPlan.Product, a: Buffer, b: Buffer, c: Buffer, scratch: GEMMScratch) throws -> [KernelLaunches.Launch] {
        let maxWorkGroupSize = runtime.device.maxWorkGroupSize
        if let violation = product.batched.parameters.violation(maxWorkGroupSize: maxWorkGroupSize) {
            throw KernelParameterError(description: "GEMM parameters \(product.batched.parameters): \(violation)")
        }
        let program = try runtime.program(source: GEMMKernelSource.text, options: product.buildOptions, disk: programCache)
        return try product.batched.launches(
            program: program, a: a, b: b, c: c, scratch: scratch, alpha: .float(Float(product.gemm.alpha)), beta: .float(0),
            maxWorkGroupSize: maxWorkGroupSize, computeUnits: runtime.device.computeUnits)
    }
}
