/// The outcome of one case on one device, as stored in `results` of a result file.
public struct CaseResult: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case ok, failed, skipped
        /// An execution did not finish within the case timeout: the device is taken as hung.
        case timedOut

        /// The case ended in a fault (a wrong result, an error, a hang): the run exits 1.
        public var isFailure: Bool { self == .failed || self == .timedOut }
        /// Checked against the reference, not yet timed: seen only in a run that was interrupted.
        case verified
    }

    public var kernel: KernelKind
    public var implementation: String
    public var device: String
    public var dtype: DType
    /// GEMM only: layout, shape and scaling.
    public var layout: GEMMLayout?
    public var shape: GEMMShape?
    public var alpha: Double?
    public var beta: Double?
    /// Attention only: batch, heads, sequence, head dimension, masking.
    public var attention: AttentionShape?
    /// Attention only, and only for the backward pass (absent: forward).
    public var attentionPass: Pass?
    /// Layer ops only: the op, its pass and dimensions.
    public var layerOp: LayerOpCase?
    /// How elements are stored and summed, e.g. fp16 storage with fp32 accumulation.
    public var storageType: DType
    public var accumulationType: DType
    public var status: Status
    /// Why the case is not `ok`.
    public var reason: String?
    public var flops: Double
    /// How `flops` is counted.
    public var flopsModel: String
    /// Device time and host end-to-end time, in seconds. Absent when nothing was timed.
    public var stats: TimingStats?
    /// GFLOP/s from the median device time; absent unless the case is `ok` (verified).
    public var gflops: Double?
    public var verification: Verification?
    /// The largest difference from the same case's output on the first device and implementation
    /// that ran it (the host, when it ran): CPU and accelerator side by side.
    public var crossCheck: CrossCheck?
    /// The verified output's fingerprint (`Repeatability.checksum`): the same inputs (the run's seed)
    /// on devices of one model and driver must give the same one; a fleet merge compares them.
    public var outputChecksum: String?
    /// Layer ops: GB/s of the device's memory copy timed right after each repetition (`AdjacentCopy`).
    public var adjacentCopyGBs: Double?
    /// A path of several parts (attention: both paths on OpenCL, the unfused one on the host): each part's median time.
    public var stages: [Stage]?
    /// Arithmetic intensity and share of the device's peak; absent until peaks are known.
    public var efficiency: Efficiency?
    /// A variation of the implementation, e.g. `OPENBLAS_CORETYPE=SkylakeX`.
    public var variant: String?
    public var notes: [String]

    public struct TimingStats: Codable, Sendable, Equatable {
        public var unit: String
        /// Every sample of the repetitions counted (those no disturbance hit), in the order taken.
        public var kernel: Statistics
        public var wall: Statistics
        /// Each repetition's summary: the units a comparison reads, since repetitions are spread
        /// over the run and samples within one are not independent.
        public var repetitions: [RepetitionSummary]

        /// Statistics of `repetitions` measured in run `run` (0 unless baselines are merged): of the
        /// undisturbed ones, or of all when a disturbance hit every one.
        init?(_ repetitions: [Repetition], run: Int = 0) {
            let quiet = repetitions.filter { !$0.disturbed }
            let counted = quiet.isEmpty ? repetitions : quiet
            guard let kernel = Statistics(counted.flatMap(\.kernel)), let wall = Statistics(counted.flatMap(\.wall)) else { return nil }
            self.init(
                unit: "s", kernel: kernel, wall: wall,
                repetitions: repetitions.map { RepetitionSummary($0, run: run) })
        }

        public init(unit: String, kernel: Statistics, wall: Statistics, repetitions: [RepetitionSummary]) {
            self.unit = unit
            self.kernel = kernel
            self.wall = wall
            self.repetitions = repetitions
        }
    }

    public struct RepetitionSummary: Codable, Sendable, Equatable {
        /// Which run of a baseline merged from several runs it was measured in; 0 for a single run.
        public var run: Int
        public var kernelMedian: Double
        public var wallMedian: Double
        public var samples: Int
        /// Executions the warm-up took to reach steady timings.
        public var warmupRuns: Int
        /// The round of its run it was measured in (1-based).
        public var round: Int
        /// A machine-wide disturbance hit its round: kept, but not counted.
        public var disturbed: Bool

        public init(run: Int, kernelMedian: Double, wallMedian: Double, samples: Int, warmupRuns: Int, round: Int = 1, disturbed: Bool = false) {
            self.run = run
            self.kernelMedian = kernelMedian
            self.wallMedian = wallMedian
            self.samples = samples
            self.warmupRuns = warmupRuns
            self.round = round
            self.disturbed = disturbed
        }

        init(_ repetition: Repetition, run: Int) {
            self.init(
                run: run, kernelMedian: Statistics.median(repetition.kernel), wallMedian: Statistics.median(repetition.wall),
                samples: repetition.kernel.count, warmupRuns: repetition.warmupRuns, round: repetition.round, disturbed: repetition.disturbed)
        }
    }

    /// One part of a multi-kernel path, over every execution of the case (warm-ups included).
    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        public var medianSeconds: Double
        /// The FLOPs it executes (an unfused product's whole matrices, masked or not; a flash sweep's products); absent
        /// where it multiplies no matrices.
        public var flops: Double?
        public var gflops: Double?

        public init(name: String, medianSeconds: Double, flops: Double?) {
            self.name = name
            self.medianSeconds = medianSeconds
            self.flops = flops
            gflops = flops.flatMap { medianSeconds > 0 ? $0 / medianSeconds / 1e9 : nil }
        }
    }

    public struct CrossCheck: Codable, Sendable, Equatable {
        /// `device/implementation` of the output compared with.
        public var against: String
        public var maxAbsDifference: Double
    }

    init(_ workload: Workload, device: DeviceDescriptor, implementation: String, status: Status, reason: String? = nil) {
        kernel = workload.kernel
        self.implementation = implementation
        self.device = device.id
        dtype = workload.dtype
        storageType = workload.dtype
        accumulationType = workload.dtype.accumulation
        self.status = status
        self.reason = reason
        flops = workload.flops
        notes = []
        switch workload {
        case .gemm(let gemm):
            layout = gemm.layout
            shape = gemm.shape
            alpha = gemm.alpha
            beta = gemm.beta
            flopsModel = "2*M*N*K"
        case .attention(let attention):
            self.attention = attention.shape
            attentionPass = attention.pass == .backward ? .backward : nil
            flopsModel = attention.flopsModel
        case .layer(let layerOp):
            self.layerOp = layerOp
            flopsModel = layerOp.flopsModel
        }
    }

    init(gemm: GEMMCase, device: DeviceDescriptor, implementation: String, status: Status, reason: String? = nil) {
        self.init(.gemm(gemm), device: device, implementation: implementation, status: status, reason: reason)
    }

    /// The case this result measured.
    public var workload: Workload? {
        if let shape, let layout {
            return .gemm(GEMMCase(shape: shape, layout: layout, dtype: dtype, alpha: alpha ?? 1, beta: beta ?? 0))
        }
        if let attention, AttentionCase.dtypes.contains(dtype) {
            return .attention(AttentionCase(shape: attention, dtype: dtype, pass: attentionPass ?? .forward))
        }
        return layerOp.map(Workload.layer)
    }

    /// "gemm fp32 NN 1024x1024x1024", "attention bf16 b1 h8 s2048 d64 causal", "... causal backward".
    public var caseDescription: String { workload?.description ?? kernel.rawValue }

    /// The least traffic the case needs, as stored: each operand read once, the output written once.
    public var minimumTrafficBytes: Double {
        switch workload {
        case .gemm(let gemm)?:
            (Double(gemm.shape.m) * Double(gemm.shape.k) + Double(gemm.shape.k) * Double(gemm.shape.n)
                + Double(gemm.shape.m) * Double(gemm.shape.n)) * Double(storageType.storageBytes)
        case .attention(let attention)?: attention.minimumTrafficBytes
        case .layer(let layerOp)?: layerOp.minimumTrafficBytes
        case nil: .infinity
        }
    }
}
