import Foundation
import OpenCLKit

/// One OpenCL device running attention: `naive` (unfused: GEMMs and a softmax kernel, the scores in
/// memory) or `flash` (fused).
final class OpenCLAttentionBackend: AttentionBackend {
    let flash: Bool
    var implementation: String { flash ? Implementation.flash.rawValue : Implementation.naive.rawValue }
    private let runtime: OpenCLDeviceRuntime
    var device: DeviceDescriptor { runtime.descriptor }
    var openCLDevice: Device { runtime.device }
    let queue: CommandQueue
    /// Compiled binaries of earlier runs, if the session keeps them.
    private let programCache: ProgramCache?
    /// Tuned flash kernel shapes; cases without an entry get the device type's defaults.
    private let tuned: TunedParameters

    init(
        device: OpenCLDeviceRuntime, flash: Bool, tuned: TunedParameters = TunedParameters(),
        programCache: ProgramCache? = nil
    ) throws(OpenCLError) {
        runtime = device
        self.flash = flash
        self.tuned = tuned
        self.programCache = programCache
        queue = try device.queue()
    }

    /// Tuned flash parameters for this device and case if there are any, else the device type's defaults.
    func parameters(for attention: AttentionCase) -> (FlashKernelParameters, source: String) {
        if let entry = tuned.lookup(device: openCLDevice.name, driver: openCLDevice.driverVersion, attention: attention) {
            let (parameters, blockLength) = entry.parameters(seq: attention.shape.seq)
            return (parameters, "tuned for \(entry.dtype.rawValue) d\(entry.headDim) at \(entry.tunedAt)" + (blockLength.map { ", blocks at s\($0)" } ?? ""))
        }
        var parameters = FlashKernelParameters.defaults(
            isCPU: openCLDevice.isCPU, nativeFloats: openCLDevice.nativeFloatVectorWidth, headDim: attention.shape.headDim)
        parameters.groupSize = min(parameters.groupSize, openCLDevice.maxWorkGroupSize)
        return (parameters, "default for \(openCLDevice.kind.rawValue)")
    }

    /// The unfused path's products, with this device's GEMM parameters.
    func unfusedPlan(_ attention: AttentionCase) -> UnfusedAttentionPlan {
        UnfusedAttentionPlan(attention: attention) { [tuned, openCLDevice] in tuned.gemmParameters(for: $0, on: openCLDevice).0 }
    }

    /// Device buffers as (name, bytes): inputs, outputs and gradients as stored, plus the scores
    /// and GEMM packing (naive) or the fp32 packed copies (flash).
    func buffers(_ attention: AttentionCase) -> [(String, Double)] {
        let shape = attention.shape
        let storage = Double(attention.dtype.storageBytes)
        var buffers = [
            ("Q", Double(shape.queryElements) * storage), ("K", Double(shape.keyElements) * storage),
            ("V", Double(shape.keyElements) * storage), ("O", Double(shape.queryElements) * storage),
            ("logsumexp", Double(shape.queryRows) * 4),
        ]
        if attention.pass == .backward {
            buffers += [
                ("dO", Double(shape.queryElements) * storage), ("dQ", Double(shape.queryElements) * storage),
                ("dK", Double(shape.keyElements) * storage), ("dV", Double(shape.keyElements) * storage),
            ]
        }
        guard flash else { return buffers + unfusedPlan(attention).workspace }
        let parameters = parameters(for: attention).0
        let headDim = Double(parameters.paddedHeadDim(shape.headDim))
        let rows = Double(roundUp(shape.seq, parameters.tileRows)), keys = Double(roundUp(shape.seq, parameters.vectorWidth))
        buffers += [
            ("packed Q", Double(shape.batch * shape.heads) * rows * headDim * 4),
            ("packed K", Double(shape.batch * shape.kvHeads) * keys * headDim * 4),
            ("packed V", Double(shape.batch * shape.kvHeads) * keys * headDim * 4),
        ]
        if attention.pass == .backward {
            let rows = Double(parameters.backwardPaddedRows(shape.seq, isCPU: openCLDevice.isCPU))
            let queryCopy = Double(shape.batch * shape.heads) * rows * headDim * 4, keyCopy = Double(shape.batch * shape.kvHeads) * rows * headDim * 4
            buffers += [
                ("delta and logsumexps", Double(shape.batch * shape.heads) * rows * 8),
                ("Q rows", queryCopy), ("Q panels", queryCopy), ("dO rows", queryCopy), ("dO panels", queryCopy),
                ("K rows", keyCopy), ("V rows", keyCopy),
            ]
            if parameters.backwardSweeps(isCPU: openCLDevice.isCPU) == 1 {
                let chunks = parameters.backwardChunks(
                    seq: shape.seq, keyValueHeads: shape.batch * shape.kvHeads, computeUnits: openCLDevice.computeUnits, isCPU: openCLDevice.isCPU)
                buffers.append(("dQ partials", Double(chunks) * queryCopy))
            } else {
                buffers += [("K panels", keyCopy), ("V panels", keyCopy)]
            }
        }
        return buffers
    }

    func unsupportedReason(_ attention: AttentionCase) -> String? {
        let buffers = buffers(attention)
        let maxAllocation = Double(openCLDevice.maxAllocationBytes)
        if let (name, bytes) = buffers.max(by: { $0.1 < $1.1 }), bytes > maxAllocation {
            return "needs a \(formatBytes(bytes)) \(name) buffer; device allows \(formatBytes(maxAllocation))"
        }
        let total = buffers.reduce(0) { $0 + $1.1 }
        if total > Double(openCLDevice.globalMemoryBytes) {
            return "needs \(formatBytes(total)) of device memory; device has \(formatBytes(Double(openCLDevice.globalMemoryBytes)))"
        }
        return nil
    }

    func prepare(_ inputs: AttentionInputs) throws -> PreparedKernel {
        if let reason = unsupportedReason(inputs.attention) { throw UsageError(reason) }
        guard flash else {
            let plan = unfusedPlan(inputs.attention)
            let forward = try OpenCLUnfusedAttention(inputs, plan: plan, runtime: runtime, queue: queue, programCache: programCache)
            guard inputs.attention.pass == .backward else { return forward }
            return try OpenCLUnfusedAttentionBackward(inputs, forward: forward, plan: plan, runtime: runtime, programCache: programCache)
        }
        let (parameters, source) = parameters(for: inputs.attention)
        return try prepare(inputs, flashParameters: parameters, parameterSource: source)
    }

    /// Prepares the flash kernels of the case's pass with explicit parameters (also the tuner's candidates).
    func prepare(_ inputs: AttentionInputs, flashParameters parameters: FlashKernelParameters, parameterSource: String) throws -> PreparedKernel {
        let forward = try prepareForward(inputs, flashParameters: parameters, parameterSource: parameterSource)
        guard inputs.attention.pass == .backward else { return forward }
        return try OpenCLPreparedAttentionBackward(inputs, forward: forward, parameters: parameters, device: openCLDevice)
    }

    /// The flash forward, which a backward runs once for its O and logsumexps.
    private func prepareForward(_ inputs: AttentionInputs, flashParameters parameters: FlashKernelParameters, parameterSource: String) throws -> OpenCLPreparedAttention {
        let attention = inputs.attention
        let shape = attention.shape
        if let violation = parameters.violation(maxWorkGroupSize: openCLDevice.maxWorkGroupSize) {
            throw KernelParameterError(description: "flash parameters \(parameters): \(violation)")
        }
        let options = "\(attention.dtype.kernelTypeOption) -D HD=\(shape.headDim) -D CAUSAL=\(shape.causal ? 1 : 0)"
            + " -D TM=\(parameters.tileRows) -D VW=\(parameters.vectorWidth) -D WG=\(parameters.groupSize)"
            + " -D HDP=\(parameters.paddedHeadDim(shape.headDim)) -D TK=\(parameters.backwardKeyRows(isCPU: openCLDevice.isCPU))"
            + " -D KBP=\(parameters.keyBlockPanels(shape.headDim)) -D SCORE_SUMS=\(parameters.scoreSums(isCPU: openCLDevice.isCPU, nativeFloats: openCLDevice.nativeFloatVectorWidth))"
            + " -D SCORE_PANELS=\(parameters.scorePanels(isCPU: openCLDevice.isCPU)) -D QBP=\(parameters.backwardQueryBlockPanels(shape.headDim))"
            + " -D POLY_EXP2=\(openCLDevice.isCPU ? 1 : 0)"
        let program = try runtime.program(source: AttentionKernelSource.text, options: options, disk: programCache)
        return try OpenCLPreparedAttention(inputs, program: program, queue: queue, flash: parameters, parameterSource: parameterSource)
    }
}

final class OpenCLPreparedAttention: DeviceOutputKernel {
    let notes: [String]
    private let launches: KernelLaunches
    let queue: CommandQueue
    let program: Program
    /// O and the logsumexps the last execution wrote; a backward pass reads them.
    let output: Buffer
    let logsumexpBuffer: Buffer
    private let shape: AttentionShape
    private let dtype: DType

    init(
        _ inputs: AttentionInputs, program: Program, queue: CommandQueue, flash: FlashKernelParameters, parameterSource: String
    ) throws {
        shape = inputs.attention.shape
        dtype = inputs.attention.dtype
        self.queue = queue
        self.program = program
        let context = queue.context
        let q = try upload(StoredElements(inputs.q, as: dtype), queue)
        let k = try upload(StoredElements(inputs.k, as: dtype), queue)
        let v = try upload(StoredElements(inputs.v, as: dtype), queue)
        output = try context.makeBuffer(byteCount: shape.queryElements * dtype.storageBytes)
        logsumexpBuffer = try context.makeBuffer(byteCount: shape.queryRows * 4)
        let (s, heads) = (shape.seq, shape.batch * shape.heads)
        let (h, hkv) = (Int32(shape.heads), Int32(shape.kvHeads))
        let headDim = flash.paddedHeadDim(shape.headDim)
        let rows = roundUp(s, flash.tileRows), keys = roundUp(s, flash.vectorWidth)
        let packedQ = try context.makeBuffer(byteCount: heads * rows * headDim * 4)
        let packedK = try context.makeBuffer(byteCount: shape.batch * shape.kvHeads * keys * headDim * 4)
        let packedV = try context.makeBuffer(byteCount: shape.batch * shape.kvHeads * keys * headDim * 4)
        let packQ = try program.makeKernel(named: "flash_pack_q", arguments: [
            .int(Int32(s)), .int(Int32(rows)), .float(Float(1.4426950408889634 / Double(shape.headDim).squareRoot())),
            .buffer(q), .buffer(packedQ),
        ])
        let packKV = try program.makeKernel(named: "flash_pack_kv", arguments: [
            .int(Int32(s)), .int(Int32(keys)), .buffer(k), .buffer(v), .buffer(packedK), .buffer(packedV),
        ])
        let fused = try program.makeKernel(named: "flash", arguments: [
            .int(Int32(s)), .int(h), .int(hkv), .buffer(packedQ), .buffer(packedK), .buffer(packedV), .buffer(output),
            .buffer(logsumexpBuffer),
        ])
        let blocks = (s + flash.tileRows - 1) / flash.tileRows
        launches = KernelLaunches(queue: queue, stages: [
            .init(name: "packing", flops: nil, launches: [
                .init(kernel: packQ, global: [(rows + flash.vectorWidth - 1) / flash.vectorWidth, heads], local: nil),
                .init(kernel: packKV, global: [keys / flash.vectorWidth, shape.batch * shape.kvHeads], local: nil),
            ]),
            .init(name: "fused kernel", flops: shape.flops, launches: [
                .init(kernel: fused, global: [roundUp(blocks, flash.groupSize), heads], local: [flash.groupSize, 1]),
            ]),
        ])
        notes = [
            "flash kernel \(flash) (\(parameterSource)): fused, online softmax, no S x S matrix; "
                + "each work-group walks the keys in blocks of \(flash.keyBlockPanels(shape.headDim) * flash.vectorWidth)",
            "Q, K, V widened to fp32 and packed by two kernels before each pass, timed with it; fp32 scores and sums",
        ]
    }

    func execute() throws -> SampleTime {
        try launches.execute()
    }

    var stages: [CaseResult.Stage] { launches.stageTimes?.summaries ?? [] }

    var deviceOutputs: DeviceOutputs { DeviceOutputs(parts: [(output, shape.queryElements, dtype)], queue: queue) }

    /// The logsumexp of every query row, as the last execution stored it for a backward pass.
    func logsumexp() throws -> [Double] {
        try queue.read(Float.self, count: shape.queryRows, from: logsumexpBuffer).map(Double.init)
    }
}
