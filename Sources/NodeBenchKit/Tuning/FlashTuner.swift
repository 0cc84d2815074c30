import Foundation

/// Searches the flash attention kernel's shape on one OpenCL device: every candidate that fits the
/// device is first verified on an odd causal case with grouped-query heads, then timed on s1024
/// causal at the head dimension being tuned, with heads enough to fill the device
/// (`tuningHeads`); the fastest correct one wins. Then the backward's key rows per work-item are
/// timed on the backward of the same case (`keyRowsSpace`), and its
/// key block (how many keys a work-group shares between barriers) and, on a CPU, its work-group size
/// are searched the same way at each of `keyBlockLengths`, and `run` takes the blocks tuned at the
/// length nearest its own.
public final class FlashTuner {
    private let backend: OpenCLAttentionBackend
    private let seed: UInt64

    public init(device: DeviceDescriptor, inventory: NodeInventory, seed: UInt64 = 42) throws {
        backend = try OpenCLAttentionBackend(device: try inventory.tunableDevice(device), flash: true)
        self.seed = seed
    }

    /// The device type's default first, then the rest of the space for that type.
    static func searchSpace(isCPU: Bool, nativeFloats: Int, headDim: Int, maxWorkGroupSize: Int) -> [FlashKernelParameters] {
        let rows = isCPU ? [1, 2, 4, 8] : [1, 2, 4]
        let groups = isCPU ? [1, 2, 4, 8, 16] : [32, 64, 128, 256]
        var space = [FlashKernelParameters.defaults(isCPU: isCPU, nativeFloats: nativeFloats, headDim: headDim)]
        for width in [16, 8] {
            for tileRows in rows {
                for groupSize in groups {
                    let candidate = FlashKernelParameters(tileRows: tileRows, vectorWidth: width, groupSize: groupSize)
                    if !space.contains(candidate) { space.append(candidate) }
                }
            }
        }
        return space.filter { $0.violation(maxWorkGroupSize: maxWorkGroupSize) == nil }
    }

    /// The chosen shape's blocks at one length: its key block left to the cache-size rule (nil) first,
    /// then the blocks that won at the previous length, then blocks of 1, 4, 16, ... panels up to the
    /// whole sequence; on a CPU each with the chosen work-group and one of `cpuGroupRows` rows, since
    /// the tuning case's K and V stay in cache where a long sequence's may not.
    static func blockSpace(
        _ parameters: FlashKernelParameters, seq: Int, previous: TunedParameters.SequenceBlocks? = nil, isCPU: Bool, maxWorkGroupSize: Int
    ) -> [FlashKernelParameters] {
        var groups = [parameters.groupSize]
        let streamingGroup = max(1, FlashKernelParameters.cpuGroupRows / parameters.tileRows)
        if isCPU, streamingGroup != parameters.groupSize, streamingGroup <= maxWorkGroupSize { groups.append(streamingGroup) }
        var blocks = [(nil as Int?, groups)]
        if let previous { blocks.append((previous.keyBlock, [previous.groupSize ?? parameters.groupSize])) }
        var panels = 1
        while panels * parameters.vectorWidth <= seq {
            blocks.append((panels, groups))
            panels *= 4
        }
        var space: [FlashKernelParameters] = []
        for (block, groupSizes) in blocks {
            for groupSize in groupSizes {
                let candidate = FlashKernelParameters(
                    tileRows: parameters.tileRows, vectorWidth: parameters.vectorWidth, groupSize: groupSize, keyBlock: block)
                if !space.contains(candidate) { space.append(candidate) }
            }
        }
        return space
    }

    /// The chosen shape with each number of backward key rows: the device type's default first
    /// (`keyRows` nil), then 1, 2, 4 and 8 rows where they differ from it.
    static func keyRowsSpace(_ parameters: FlashKernelParameters, isCPU: Bool) -> [FlashKernelParameters] {
        var byDefault = parameters
        byDefault.keyRows = nil
        let defaultRows = byDefault.backwardKeyRows(isCPU: isCPU)
        return [byDefault] + [1, 2, 4, 8].filter { $0 != defaultRows }.map { rows in
            var candidate = byDefault
            candidate.keyRows = rows
            return candidate
        }
    }

    public typealias Progress = TuningProgress<FlashKernelParameters>

    public static func tuningShape(headDim: Int, heads: Int = 8) throws(UsageError) -> AttentionShape {
        try AttentionShape(batch: 1, heads: heads, kvHeads: heads, seq: 1024, headDim: headDim, causal: true)
    }

    /// Heads of the case shapes are timed on: enough that every compute unit gets about four
    /// work-groups of the space's largest candidate, at least 8 and at most 64. With 8 heads a
    /// 132-SM GPU ran the 2-row, 32-item default in 128 work-groups, SMs idle, and the tuner chose
    /// 1 row, which ran the runs it served at 0.6x the default.
    static func tuningHeads(computeUnits: Int, space: [FlashKernelParameters]) -> Int {
        let rowsPerGroup = space.map { $0.tileRows * $0.groupSize }.max() ?? 1
        return min(64, max(8, (4 * computeUnits * rowsPerGroup + 1023) / 1024))
    }

    private func searchSpace(headDim: Int) -> [FlashKernelParameters] {
        let device = backend.openCLDevice
        return Self.searchSpace(
            isCPU: device.isCPU, nativeFloats: device.nativeFloatVectorWidth, headDim: headDim, maxWorkGroupSize: device.maxWorkGroupSize)
    }

    /// The case this device's candidate shapes are timed on, at one head dimension.
    public func timedShape(headDim: Int) throws(UsageError) -> AttentionShape {
        try Self.tuningShape(
            headDim: headDim, heads: Self.tuningHeads(computeUnits: backend.openCLDevice.computeUnits, space: searchSpace(headDim: headDim)))
    }

    /// The sequence lengths whose key block is tuned: the block decides how often K and V come from
    /// memory, which matters more the longer the sequence.
    public static let keyBlockLengths = [2048, 8192, 32768]

    /// Where the key block is tuned at one length: causal, with enough heads that every compute
    /// unit gets about four work-groups (one head fills a CPU; a GPU needs more at short lengths).
    static func keyBlockShape(headDim: Int, seq: Int, parameters: FlashKernelParameters, computeUnits: Int) throws(UsageError) -> AttentionShape {
        let rowsPerGroup = parameters.tileRows * parameters.groupSize
        let heads = min(64, max(1, (4 * computeUnits * rowsPerGroup + seq - 1) / seq))
        return try AttentionShape(batch: 1, heads: heads, kvHeads: heads, seq: seq, headDim: headDim, causal: true)
    }

    /// Tunes one type and head dimension within `budgetSeconds`; nil if no candidate passed.
    public func tune(dtype: DType, headDim: Int, budgetSeconds: Double, progress: (Progress) -> Void) throws -> TunedParameters.FlashEntry? {
        let deadline = MonotonicClock.now() + budgetSeconds
        let checkCase = AttentionCase(shape: try AttentionShape(batch: 1, heads: 2, kvHeads: 1, seq: 67, headDim: headDim, causal: true), dtype: dtype)
        let checkInputs = AttentionInputs(attention: checkCase, seed: seed)
        let checkReference = AttentionReference(checkInputs)
        let timedCase = AttentionCase(shape: try timedShape(headDim: headDim), dtype: dtype)
        if backend.unsupportedReason(timedCase) != nil { return nil }
        let timedInputs = AttentionInputs(attention: timedCase, seed: seed)
        let device = backend.openCLDevice
        let space = searchSpace(headDim: headDim)
        // Half the budget for the shape; of the rest a third for the backward's key rows, then the
        // blocks at each length in turn, each length getting an even share of what is left when it starts.
        let shapeDeadline = MonotonicClock.now() + budgetSeconds * 0.5
        let best = fastestCandidate(
            space, timedOn: timedCase.shape.description, deadline: shapeDeadline, flops: timedCase.shape.flops, verify: checkReference.verify,
            check: { try backend.prepare(checkInputs, flashParameters: $0, parameterSource: "candidate") },
            timed: { try backend.prepare(timedInputs, flashParameters: $0, parameterSource: "candidate") }, progress: progress)
        guard let (shape, gflops) = best else { return nil }
        let (parameters, backwardGFLOPs) = keyRows(
            for: shape, checkShape: checkCase.shape, timedShape: timedCase.shape, dtype: dtype,
            deadline: MonotonicClock.now() + (deadline - MonotonicClock.now()) / 3, progress: progress)
        var keyBlocks: [TunedParameters.SequenceBlocks] = []
        for (index, seq) in Self.keyBlockLengths.enumerated() {
            let now = MonotonicClock.now()
            guard now < deadline else { break }
            let lengthDeadline = now + (deadline - now) / Double(Self.keyBlockLengths.count - index)
            let longCase = AttentionCase(
                shape: try Self.keyBlockShape(headDim: headDim, seq: seq, parameters: parameters, computeUnits: device.computeUnits), dtype: dtype)
            if backend.unsupportedReason(longCase) != nil { break }
            let longInputs = AttentionInputs(attention: longCase, seed: seed)
            let blocked = fastestCandidate(
                Self.blockSpace(parameters, seq: seq, previous: keyBlocks.last, isCPU: device.isCPU, maxWorkGroupSize: device.maxWorkGroupSize),
                timedOn: longCase.shape.description,
                deadline: lengthDeadline, flops: longCase.shape.flops, verify: checkReference.verify,
                check: { try backend.prepare(checkInputs, flashParameters: $0, parameterSource: "candidate") },
                timed: { try backend.prepare(longInputs, flashParameters: $0, parameterSource: "candidate") }, progress: progress)
            if let (withBlock, blockGFLOPs) = blocked {
                keyBlocks.append(.init(seq: seq, keyBlock: withBlock.keyBlock, groupSize: withBlock.groupSize, gflops: blockGFLOPs))
            }
        }
        return TunedParameters.FlashEntry(
            device: device.name, driver: device.driverVersion, dtype: dtype, headDim: headDim, parameters: parameters,
            gflops: gflops, tunedAt: Timestamp.now(), keyBlocks: keyBlocks, backwardGFLOPs: backwardGFLOPs)
    }

    /// The shape with the backward key rows that ran its backward fastest, verified on the odd
    /// check case against fp64 gradients, and that GFLOP/s; the shape as it was, and nil, where the
    /// device cannot hold the backward or no candidate passed in time.
    private func keyRows(
        for shape: FlashKernelParameters, checkShape: AttentionShape, timedShape: AttentionShape, dtype: DType, deadline: Double,
        progress: (Progress) -> Void
    ) -> (FlashKernelParameters, Double?) {
        let timedCase = AttentionCase(shape: timedShape, dtype: dtype, pass: .backward)
        guard backend.unsupportedReason(timedCase) == nil else { return (shape, nil) }
        let checkInputs = AttentionInputs(attention: AttentionCase(shape: checkShape, dtype: dtype, pass: .backward), seed: seed)
        let timedInputs = AttentionInputs(attention: timedCase, seed: seed)
        let best = fastestCandidate(
            Self.keyRowsSpace(shape, isCPU: backend.openCLDevice.isCPU), timedOn: "\(timedShape) backward", deadline: deadline,
            flops: timedCase.flops, verify: AttentionGradientReference(checkInputs).verify,
            check: { try backend.prepare(checkInputs, flashParameters: $0, parameterSource: "candidate") },
            timed: { try backend.prepare(timedInputs, flashParameters: $0, parameterSource: "candidate") }, progress: progress)
        guard let (tuned, gflops) = best else { return (shape, nil) }
        return (tuned, gflops)
    }
}
