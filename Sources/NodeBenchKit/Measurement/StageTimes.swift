/// The time of each named part of a multi-kernel path (a matrix product, a softmax), recorded at
/// every execution, so that a result can say where its time went and how fast its parts ran: an
/// OpenCL path's kernel events, the host's clock around its calls.
final class StageTimes {
    struct Stage {
        let name: String
        /// The FLOPs its kernels execute; nil where the stage is not counted in FLOPs.
        let flops: Double?
        /// Kernel launches it takes (one where the host times the stage itself).
        let launchCount: Int

        init(name: String, flops: Double?, launchCount: Int = 1) {
            self.name = name
            self.flops = flops
            self.launchCount = launchCount
        }
    }

    let stages: [Stage]
    private var seconds: [[Double]]

    init(_ stages: [Stage]) {
        self.stages = stages
        seconds = stages.map { _ in [] }
    }

    /// One execution: the device seconds of every launch, in the stages' order.
    func record(launchSeconds: [Double]) {
        var next = launchSeconds[...]
        record(stageSeconds: stages.map { stage in
            defer { next = next.dropFirst(stage.launchCount) }
            return next.prefix(stage.launchCount).reduce(0, +)
        })
    }

    /// One execution: the seconds of every stage, in their order.
    func record(stageSeconds: [Double]) {
        for index in stages.indices { seconds[index].append(stageSeconds[index]) }
    }

    /// Each stage's median over every execution recorded; empty before the first.
    var summaries: [CaseResult.Stage] {
        zip(stages, seconds).compactMap { stage, times in
            Statistics(times).map { CaseResult.Stage(name: stage.name, medianSeconds: $0.median, flops: stage.flops) }
        }
    }
}

/// One host execution's seconds per stage, each stage's calls (one per head) added up.
struct HostStageClock {
    private(set) var seconds: [Double]

    init(stageCount: Int) {
        seconds = [Double](repeating: 0, count: stageCount)
    }

    mutating func time<T>(_ stage: Int, _ body: () -> T) -> T {
        let (result, elapsed) = MonotonicClock.time(body)
        seconds[stage] += elapsed
        return result
    }
}
