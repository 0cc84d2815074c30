import Foundation

/// The per-layer breakdown `run --model` prints after the case table.
public enum TrainingReport {
    public static func text(_ breakdown: TrainingBreakdown) -> String {
        var text = "\(breakdown.model) on \(breakdown.device): \(breakdown.dtype.rawValue), seq \(breakdown.seq), "
            + "micro-batch \(breakdown.microBatch), tensor-parallel \(breakdown.tensorParallel)\n"
        var table = TextTable([
            ("part", .left), ("per", .left), ("fwd+bwd ms", .right), ("share %", .right), ("% peak", .right), ("implementation", .left),
        ])
        for part in breakdown.parts {
            table.add([
                part.name + (part.estimated ? " (estimate)" : ""), part.perLayer ? "layer" : "step",
                String(format: "%.3f", part.seconds * 1e3), String(format: "%.1f", part.share),
                part.percentOfCopyBandwidth.map { String(format: "%.0f%% bw", $0) } ?? part.percentOfPeak.map { String(format: "%.0f%%", $0) } ?? "-",
                Array(Set(part.implementations)).sorted().joined(separator: ", "),
            ])
        }
        text += table.render()
        if !breakdown.missing.isEmpty {
            text += "no step estimate: no verified result for \(breakdown.missing.joined(separator: ", "))\n"
            return text
        }
        text += String(format: "layer forward+backward: %.3f ms; step: %.3f s\n", (breakdown.layerSeconds ?? 0) * 1e3, breakdown.stepSeconds ?? 0)
        text += String(format: "model FLOPs per token: %.3g; estimated training throughput: %.1f tokens/s", breakdown.modelFlopsPerToken, breakdown.tokensPerSecond ?? 0)
        text += breakdown.tensorParallel > 1 ? " per tensor-parallel group of \(breakdown.tensorParallel) (communication not included)" : ""
        text += breakdown.modelFlopsUtilization.map { String(format: "; MFU %.1f%% of %.1f GFLOP/s peak", $0, breakdown.peakGflops ?? 0) } ?? "; MFU - (no peak measured)"
        return text + "\n"
    }
}
