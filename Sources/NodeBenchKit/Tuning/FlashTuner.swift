import Foundation

/// Searches the flash attention kernel's shape on one OpenCL device: every candidate that fits the
/// device is first verified on an odd causal case with grouped-query heads, then timed on
/// b1 h8 s1024 causal at the head dimension being tuned; the fastest correct one wins. Then its
/// key block (how many keys a work-group shares between barriers) is searched the same way on a
/// long sequence, where the block decides how often K and V come from memory.
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
        let groups = isCPU ? [1, 2, 4, 8] : [32, 64, 128, 256]
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

    /// The chosen shape with its key block left to the cache-size rule (nil) first, then blocks of
    /// 1, 4, 16, ... panels up to the whole sequence.
    static func keyBlockSpace(_ parameters: FlashKernelParameters, seq: Int) -> [FlashKernelParameters] {
        var space = [FlashKernelParameters(tileRows: parameters.tileRows, vectorWidth: parameters.vectorWidth, groupSize: parameters.groupSize)]
        var panels = 1
        while panels * parameters.vectorWidth <= seq {
            space.append(FlashKernelParameters(
                tileRows: parameters.tileRows, vectorWidth: parameters.vectorWidth, groupSize: parameters.groupSize, keyBlock: panels))
            panels *= 4
        }
        return space
    }

    public typealias Progress = TuningProgress<FlashKernelParameters>

    public static func tuningShape(headDim: Int) throws(UsageError) -> AttentionShape {
        try AttentionShape(batch: 1, heads: 8, kvHeads: 8, seq: 1024, headDim: headDim, causal: true)
    }

    /// Where the key block is tuned: a sequence long enough that K and V of one head outgrow a core's L2.
    public static func longSequenceShape(headDim: Int) throws(UsageError) -> AttentionShape {
        try AttentionShape(batch: 1, heads: 2, kvHeads: 2, seq: 8192, headDim: headDim, causal: true)
    }

    /// Tunes one type and head dimension within `budgetSeconds`; nil if no candidate passed.
    public func tune(dtype: DType, headDim: Int, budgetSeconds: Double, progress: (Progress) -> Void) throws -> TunedParameters.FlashEntry? {
        let deadline = MonotonicClock.now() + budgetSeconds
        let checkCase = AttentionCase(shape: try AttentionShape(batch: 1, heads: 2, kvHeads: 1, seq: 67, headDim: headDim, causal: true), dtype: dtype)
        let checkInputs = AttentionInputs(attention: checkCase, seed: seed)
        let checkReference = AttentionReference(checkInputs)
        let timedCase = AttentionCase(shape: try Self.tuningShape(headDim: headDim), dtype: dtype)
        if backend.unsupportedReason(timedCase) != nil { return nil }
        let timedInputs = AttentionInputs(attention: timedCase, seed: seed)
        let device = backend.openCLDevice
        let space = Self.searchSpace(
            isCPU: device.kind == .cpu, nativeFloats: device.nativeFloatVectorWidth, headDim: headDim, maxWorkGroupSize: device.maxWorkGroupSize)
        // Three quarters of the budget for the shape, the rest for its key block.
        let shapeDeadline = MonotonicClock.now() + budgetSeconds * 0.75
        let best = fastestCandidate(
            space, deadline: shapeDeadline, flops: timedCase.shape.flops, verify: checkReference.verify,
            check: { try backend.prepare(checkInputs, flashParameters: $0, parameterSource: "candidate") },
            timed: { try backend.prepare(timedInputs, flashParameters: $0, parameterSource: "candidate") }, progress: progress)
        guard let (shape, gflops) = best else { return nil }
        var parameters = shape
        let longCase = AttentionCase(shape: try Self.longSequenceShape(headDim: headDim), dtype: dtype)
        if backend.unsupportedReason(longCase) == nil {
            let longInputs = AttentionInputs(attention: longCase, seed: seed)
            let blocked = fastestCandidate(
                Self.keyBlockSpace(parameters, seq: longCase.shape.seq), deadline: deadline, flops: longCase.shape.flops,
                verify: checkReference.verify,
                check: { try backend.prepare(checkInputs, flashParameters: $0, parameterSource: "candidate") },
                timed: { try backend.prepare(longInputs, flashParameters: $0, parameterSource: "candidate") }, progress: progress)
            if let (withBlock, _) = blocked { parameters = withBlock }
        }
        return TunedParameters.FlashEntry(
            device: device.name, driver: device.driverVersion, dtype: dtype, headDim: headDim, parameters: parameters,
            gflops: gflops, tunedAt: Timestamp.now())
    }
}
