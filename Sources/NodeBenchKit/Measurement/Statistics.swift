/// Summary statistics of a set of timings, with the raw samples kept alongside.
public struct Statistics: Codable, Sendable, Equatable {
    public var count: Int
    public var min: Double
    public var median: Double
    public var mean: Double
    public var p90: Double
    public var max: Double
    /// Sample standard deviation (n - 1); 0 for a single sample.
    public var stddev: Double
    /// Coefficient of variation: stddev / mean.
    public var cv: Double
    public var samples: [Double]

    /// nil for an empty set: there is nothing to summarise.
    public init?(_ samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        count = samples.count
        min = sorted.first!
        max = sorted.last!
        median = Statistics.quantile(sorted, 0.5)
        p90 = Statistics.quantile(sorted, 0.9)
        let mean = samples.reduce(0, +) / Double(samples.count)
        let squares = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        self.mean = mean
        stddev = samples.count > 1 ? (squares / Double(samples.count - 1)).squareRoot() : 0
        cv = mean > 0 ? stddev / mean : 0
        self.samples = samples
    }

    /// Reads the summary, and the raw samples unless the decoder's `decodesSamples` is false: a
    /// fleet merge reads thousands of files and needs only the summaries.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        count = try container.decode(Int.self, forKey: .count)
        min = try container.decode(Double.self, forKey: .min)
        median = try container.decode(Double.self, forKey: .median)
        mean = try container.decode(Double.self, forKey: .mean)
        p90 = try container.decode(Double.self, forKey: .p90)
        max = try container.decode(Double.self, forKey: .max)
        stddev = try container.decode(Double.self, forKey: .stddev)
        cv = try container.decode(Double.self, forKey: .cv)
        samples = decoder.userInfo[.decodesSamples] as? Bool == false ? [] : try container.decode([Double].self, forKey: .samples)
    }

    /// The median of unsorted values; 0 for none.
    static func median(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : quantile(values.sorted(), 0.5)
    }

    /// Linear interpolation between the closest ranks (the "type 7" quantile of R and NumPy).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}

extension CodingUserInfoKey {
    /// False: `Statistics` decodes its summary without the raw samples.
    static let decodesSamples = CodingUserInfoKey(rawValue: "nodebench.decodesSamples")!
}
