/// `nodebench fleet merge`: every node's screen judged against the fleet, in one file
/// (`results/schema/fleet.schema.json`).
public struct FleetDocument: Codable, Sendable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var tool: ToolInfo
    public var createdAt: String
    /// The folder of node result files merged.
    public var folder: String
    /// Folders of the same nodes screened again (those first found slow), merged with `folder`.
    public var rescreenFolders: [String]?
    /// The suite and seed most nodes ran; a node that ran others is `failed`.
    public var suite: String
    public var seed: UInt64
    /// Smallest slowdown against the fleet median that names a device slow (0.1 is 10%).
    public var threshold: Double
    /// Family-wise error rate of the slow verdicts over the whole fleet (Holm).
    public var alpha: Double
    /// Flagged nodes first (corrupt, failed, missing, slow), then healthy ones; by name within each.
    public var nodes: [FleetNode]
    /// One entry per device model and driver, implementation and case.
    public var cases: [FleetCase]

    public var flagged: [FleetNode] { nodes.filter { $0.verdict != .healthy } }
}

public struct FleetNode: Codable, Sendable, Equatable {
    public enum Verdict: String, Codable, Sendable, CaseIterable {
        /// An output disagrees with the fleet's, or with itself: silent data corruption.
        case corrupt
        /// A case failed or hung, the file is unreadable or incomplete, or nothing was measured.
        case failed
        /// Expected in the allocation, never reported.
        case missing
        /// A device significantly and materially slower than the fleet.
        case slow
        case healthy
    }

    public var name: String
    public var verdict: Verdict
    /// The node's result file, relative to the folder; absent for a missing node.
    public var file: String?
    /// One line per piece of evidence, most severe first.
    public var evidence: [String]
    public var devices: [FleetDevice]
}

/// One device of one node against the devices of its model and driver in the fleet.
public struct FleetDevice: Codable, Sendable, Equatable {
    public var id: String
    public var model: String
    public var driver: String?
    /// Median over its cases of its time / the fleet median: 1.25 is 25% slower.
    public var ratio: Double?
    /// How sure the fleet is that this device is slower than its peers: Holm-adjusted p-value of
    /// its cases' combined evidence.
    public var p: Double?
    public var slow: Bool
    /// Cases slower than the fleet beyond the threshold and significant on their own.
    public var slowCases: [SlowCase]
    /// Cases whose output's checksum differs from the fleet's.
    public var checksumMismatches: [String]

    public struct SlowCase: Codable, Sendable, Equatable {
        public var name: String
        public var ratio: Double
        public var p: Double
    }
}

/// One case of one device model in the fleet: where the devices' fastest repetitions lie.
public struct FleetCase: Codable, Sendable, Equatable {
    public var model: String
    public var driver: String?
    /// The NodeBench build that screened these devices: version, commit, configuration.
    public var build: String?
    public var implementation: String
    /// "gemm fp32 NN 2048x2048x2048", with the variant in brackets where there is one.
    public var name: String
    public var devices: Int
    /// Fleet median of the devices' fastest repetition, seconds.
    public var medianSeconds: Double
    /// Robust spread of the devices around it: 1.4826 x the median absolute deviation of log time,
    /// at least the repetitions' own scatter (0.02 is about 2%).
    public var spread: Double
    /// Fleet quantiles of the devices' ratios to the median: 5%, 25%, 75%, 95%.
    public var ratioQuantiles: [Double]
    /// Each device's time / the fleet median, nodes by name.
    public var ratios: [Ratio]
    /// The output checksum most devices gave, and how many gave it; absent where none was recorded.
    public var checksum: String?
    public var checksumAgreement: Int?

    public struct Ratio: Codable, Sendable, Equatable {
        public var node: String
        public var device: String
        public var ratio: Double
    }

    public var label: String { "\(model) \(implementation) \(name)" }

    /// The device model, with the build where the fleet was screened by more than one.
    func modelColumn(in fleet: FleetDocument) -> String {
        guard let build, Set(fleet.cases.compactMap(\.build)).count > 1 else { return model }
        return "\(model) (\(build))"
    }
}
