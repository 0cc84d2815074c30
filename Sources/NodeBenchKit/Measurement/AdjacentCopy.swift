/// A layer op's yardstick: the GB/s of its device's memory copy, timed right after each of the
/// op's repetitions. Each repetition's copy reads at its median sample; the figure is the median
/// over the rounds the op counts (those no disturbance hit, or all when every one was hit).
enum AdjacentCopy {
    static func gigabytesPerSecond(bytesMoved: Double, repetitions: [Repetition], disturbedRounds: Set<Int>) -> Double? {
        let quiet = repetitions.filter { !disturbedRounds.contains($0.round) }
        let rates = (quiet.isEmpty ? repetitions : quiet).compactMap { repetition -> Double? in
            let seconds = Statistics.median(repetition.kernel)
            return seconds > 0 ? bytesMoved / seconds / 1e9 : nil
        }
        return rates.isEmpty ? nil : Statistics.median(rates)
    }
}
