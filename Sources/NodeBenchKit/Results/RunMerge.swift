/// Several runs of the same cases as one document, each case's repetitions tagged with the run they
/// came from: a baseline that knows how much its cases vary from run to run, or a current
/// measurement made of several runs.
extension RunDocument {
    public struct MergeError: Error, CustomStringConvertible {
        public let description: String
    }

    /// When each merged run started and ended, in order; absent for a single run.
    public struct RunSpan: Codable, Sendable, Equatable {
        public var startedAt: String
        public var finishedAt: String?
    }

    /// The runs a document holds: 1 unless it was merged.
    public var runCount: Int { runs?.count ?? 1 }

    /// `documents` merged; they must hold the same cases (`names` say which file is which in errors).
    /// A case that failed or was skipped in any run keeps that run's result.
    public static func merging(_ documents: [RunDocument], names: [String]) throws(MergeError) -> RunDocument {
        guard var merged = documents.first else { throw MergeError(description: "no runs to merge") }
        guard documents.count > 1 else { return merged }
        let keyed = documents.map { document in Dictionary(document.results.map { (CaseKey($0), $0) }, uniquingKeysWith: { first, _ in first }) }
        for (index, cases) in keyed.enumerated() where Set(cases.keys) != Set(keyed[0].keys) {
            throw MergeError(description: "\(names[index]) measured other cases than \(names[0]); merge runs of the same command")
        }
        let runOffsets = documents.reduce(into: [0]) { offsets, document in offsets.append(offsets.last! + document.runCount) }
        merged.results = merged.results.map { first in
            let key = CaseKey(first)
            let all = keyed.map { $0[key]! }
            if let unusable = all.first(where: { $0.status != .ok || $0.stats == nil }) { return unusable }
            var result = first
            let stats = zip(all, runOffsets).map { result, offset in
                var stats = result.stats!
                stats.repetitions = stats.repetitions.map { repetition in
                    var shifted = repetition
                    shifted.run += offset
                    return shifted
                }
                return stats
            }
            let repetitions = stats.flatMap(\.repetitions)
            // Baselines keep no raw samples: their repetitions' medians stand in for them.
            guard let kernel = Statistics(stats.flatMap(\.kernel.samples)) ?? Statistics(repetitions.map(\.kernelMedian)),
                let wall = Statistics(stats.flatMap(\.wall.samples)) ?? Statistics(repetitions.map(\.wallMedian))
            else { return first }
            result.stats = CaseResult.TimingStats(unit: first.stats!.unit, kernel: kernel, wall: wall, repetitions: repetitions)
            result.gflops = result.flops / kernel.median / 1e9
            return result
        }
        merged.runs = documents.flatMap { $0.runs ?? [RunSpan(startedAt: $0.startedAt, finishedAt: $0.finishedAt)] }
        merged.finishedAt = documents.last!.finishedAt
        merged.complete = documents.allSatisfy(\.complete)
        return merged
    }

    /// The document without raw samples: what a comparison reads (each repetition's median and
    /// the summary statistics) at a fraction of the size, for baselines kept in a repository.
    public var withoutRawSamples: RunDocument {
        var compact = self
        for index in compact.results.indices where compact.results[index].stats != nil {
            compact.results[index].stats!.kernel.samples = []
            compact.results[index].stats!.wall.samples = []
        }
        return compact
    }
}
