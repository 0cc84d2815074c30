/// The device time of each named part of a multi-kernel path (a matrix product, a softmax), recorded
/// at every execution, so that a result can say where its time went and how fast its parts ran.
final class StageTimes {
    struct Stage {
        let name: String
        /// The FLOPs its kernels execute; nil where the stage is not counted in FLOPs.
        let flops: Double?
        let launchCount: Int
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
        for index in stages.indices {
            seconds[index].append(next.prefix(stages[index].launchCount).reduce(0, +))
            next = next.dropFirst(stages[index].launchCount)
        }
    }

    /// Each stage's median over every execution recorded; empty before the first.
    var summaries: [CaseResult.Stage] {
        zip(stages, seconds).compactMap { stage, times in
            Statistics(times).map { CaseResult.Stage(name: stage.name, medianSeconds: $0.median, flops: stage.flops) }
        }
    }
}
