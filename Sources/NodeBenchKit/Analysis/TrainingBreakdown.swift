/// One device's estimate of a model's training step, from the measured cases of `run --model`:
/// the time of each part of a layer (GEMMs, attention and the memory-bound ops, forward and
/// backward), the layer's and the step's time, and the throughput and model-FLOPs utilization
/// they imply. Communication between tensor-parallel devices and the optimizer step are not
/// included.
public struct TrainingBreakdown: Codable, Sendable, Equatable {
    public var model: String
    public var device: String
    public var dtype: DType
    public var seq: Int
    public var microBatch: Int
    public var tensorParallel: Int
    public var parts: [Part]
    /// Forward and backward of one layer, and of the whole step (layers plus LM head).
    public var layerSeconds: Double?
    public var stepSeconds: Double?
    public var modelFlopsPerToken: Double
    /// Tokens per second of the tensor-parallel group, and its model-FLOPs utilization in percent
    /// of N x the device's peak.
    public var tokensPerSecond: Double?
    public var modelFlopsUtilization: Double?
    public var peakGflops: Double?
    /// Parts with no verified measurement, so no step time.
    public var missing: [String]

    public struct Part: Codable, Sendable, Equatable {
        public var name: String
        /// Once per layer, or once per step (the LM head).
        public var perLayer: Bool
        /// Forward plus backward of the part, once.
        public var seconds: Double
        public var flops: Double
        /// Share of the step's time.
        public var share: Double
        public var percentOfPeak: Double?
        /// Layer ops: their least traffic over their time, against the memory copies timed beside
        /// them (`CaseResult.adjacentCopyGBs`), else against the device's copy probe.
        public var percentOfCopyBandwidth: Double?
        /// The fastest verified implementation of each of its cases.
        public var implementations: [String]
        /// True where the time is derived rather than measured (attention backward).
        public var estimated: Bool
    }

    public init(step: TrainingStep, device: String, results: [CaseResult], roofline: Roofline) {
        model = step.model.name
        self.device = device
        dtype = step.dtype
        seq = step.seq
        microBatch = step.microBatch
        tensorParallel = step.tensorParallel
        modelFlopsPerToken = step.modelFlopsPerToken
        peakGflops = roofline.compute[step.dtype.accumulation]?.gflops
        missing = []
        var parts: [Part] = []
        func fastest(_ workload: Workload) -> CaseResult? {
            results.filter { $0.device == device && $0.status == .ok && $0.variant == nil && $0.workload == workload }
                .min { $0.stats!.kernel.median < $1.stats!.kernel.median }
        }
        for linear in step.linears {
            let measured = step.gemms(linear).map { fastest(.gemm($0)) }
            guard measured.allSatisfy({ $0 != nil }) else {
                missing.append(linear.name)
                continue
            }
            parts.append(Part(
                name: linear.name, perLayer: linear.perLayer, seconds: measured.reduce(0) { $0 + $1!.stats!.kernel.median },
                flops: measured.reduce(0) { $0 + $1!.flops }, share: 0, implementations: measured.map { $0!.implementation },
                estimated: false))
        }
        if let forward = fastest(.attention(step.attention)) {
            let seconds = forward.stats!.kernel.median
            parts.append(Part(
                name: "attention-forward", perLayer: true, seconds: seconds, flops: forward.flops, share: 0,
                implementations: [forward.implementation], estimated: false))
            let backwardCase = AttentionCase(shape: step.attention.shape, dtype: step.attention.dtype, pass: .backward)
            if let backward = fastest(.attention(backwardCase)) {
                parts.append(Part(
                    name: "attention-backward", perLayer: true, seconds: backward.stats!.kernel.median, flops: backward.flops, share: 0,
                    implementations: [backward.implementation], estimated: false))
            } else {
                // No backward measured on this device (none ran, or it failed): the forward's time x 2.5, labelled.
                parts.append(Part(
                    name: "attention-backward", perLayer: true, seconds: seconds * TrainingStep.attentionBackwardFactor,
                    flops: forward.flops * TrainingStep.attentionBackwardFactor, share: 0, implementations: [forward.implementation],
                    estimated: true))
            }
        } else {
            missing.append("attention")
        }
        for use in step.layerOps {
            let passes = [use.forward, use.forward.with(pass: .backward)]
            let measured = passes.compactMap { fastest(.layer($0)) }
            guard measured.count == passes.count else {
                missing.append(use.name)
                continue
            }
            let count = Double(use.count)
            let seconds = count * measured.reduce(0) { $0 + $1.stats!.kernel.median }
            // What copying the same bytes would take: at each pass's adjacent copy's speed, else at the probe's.
            let adjacentCopySeconds = zip(passes, measured).compactMap { pass, result in
                result.adjacentCopyGBs.map { pass.minimumTrafficBytes / ($0 * 1e9) }
            }
            let bytes = passes.reduce(0) { $0 + $1.minimumTrafficBytes }
            let copySeconds = adjacentCopySeconds.count == passes.count
                ? adjacentCopySeconds.reduce(0, +) : roofline.copyBandwidthGBs.map { bytes / ($0 * 1e9) }
            parts.append(Part(
                name: use.name + (use.count > 1 ? " x\(use.count)" : ""), perLayer: use.perLayer, seconds: seconds,
                flops: count * measured.reduce(0) { $0 + $1.flops }, share: 0,
                percentOfCopyBandwidth: copySeconds.map { count * $0 / seconds * 100 },
                implementations: measured.map(\.implementation), estimated: false))
        }
        let layers = Double(step.model.layers)
        let stepSeconds = parts.reduce(0) { $0 + $1.seconds * ($1.perLayer ? layers : 1) }
        for index in parts.indices {
            let part = parts[index]
            parts[index].share = part.seconds * (part.perLayer ? layers : 1) / stepSeconds * 100
            // A layer op is read against bandwidth only: its FLOPs are a loose count.
            guard part.percentOfCopyBandwidth == nil else { continue }
            parts[index].percentOfPeak = peakGflops.map { part.flops / part.seconds / 1e9 / $0 * 100 }
        }
        self.parts = parts
        guard missing.isEmpty else { return }
        layerSeconds = parts.filter(\.perLayer).reduce(0) { $0 + $1.seconds }
        self.stepSeconds = stepSeconds
        let tokensPerSecond = Double(step.tokens) / stepSeconds
        self.tokensPerSecond = tokensPerSecond
        modelFlopsUtilization = peakGflops.map {
            modelFlopsPerToken * tokensPerSecond / (Double(step.tensorParallel) * $0 * 1e9) * 100
        }
    }
}
