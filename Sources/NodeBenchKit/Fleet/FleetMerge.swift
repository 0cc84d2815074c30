import Foundation

/// Judges every node of a fleet against the fleet itself. Devices of one model and driver ran the
/// same cases on the same inputs, so for each case the fleet's own devices say what is normal:
///
/// - **slow**: a device's fastest repetition lies above the fleet median by more than the
///   threshold, and by more than the fleet's spread allows. The spread is robust (the median
///   absolute deviation, so the slow devices do not widen it) and at least the repetitions' own
///   scatter. A device's cases are combined (Stouffer), so a device a little slow in every case is
///   found as surely as one very slow in one; Holm's adjustment over the whole fleet keeps the
///   chance of naming any healthy device below `alpha`.
/// - **corrupt**: an output whose checksum differs from the one most devices of its model and
///   driver gave, or a case that failed its fp64 check or gave another output when repeated.
/// - **failed**: a case that failed or hung, a file that cannot be read or did not finish, a run of
///   another suite or seed, or nothing measured.
/// - **missing**: expected (the allocation's node list) but no file.
///
/// A node screened more than once (a re-screen of a node found slow) has one file per screen: it is
/// judged on each case's fastest repetition over all its screens, and every screen's failures and
/// outputs count against it.
public struct FleetMerge {
    public static let defaultThreshold = 0.10
    public static let defaultAlpha = 0.01
    /// Fewer devices of a model cannot say what is normal for it.
    static let minimumPeers = 3

    /// One node's result file: its name (the file's, without `.json`) and what it holds.
    public struct NodeRun: Sendable {
        public var name: String
        public var file: String
        public var document: Result<RunDocument, RunDocument.LoadError>

        public init(name: String, file: String, document: Result<RunDocument, RunDocument.LoadError>) {
            self.name = name
            self.file = file
            self.document = document
        }
    }

    let threshold: Double
    let alpha: Double

    public init(threshold: Double = FleetMerge.defaultThreshold, alpha: Double = FleetMerge.defaultAlpha) {
        self.threshold = threshold
        self.alpha = alpha
    }

    /// `runs` holds each node's first screen's file, then its re-screens' from `rescreenFolders`.
    public func merge(_ runs: [NodeRun], expected: [String] = [], folder: String, rescreenFolders: [String] = []) -> FleetDocument {
        let documents = runs.compactMap { run in (try? run.document.get()).map { (run.name, $0) } }
        let (suite, seed) = Self.mostCommon(documents.map { FleetRunKind(suite: $0.1.suite, seed: $0.1.seed) })
            .map { ($0.suite, $0.seed) } ?? ("", 0)
        let screens = Dictionary(grouping: runs, by: \.name)
        let comparable = documents.filter { $0.1.suite == suite && $0.1.seed == seed }
        let groups = CaseGroups(comparable)
        let cases = groups.keys.map { judge(groups.members[$0]!, key: $0) }
        let devices = Dictionary(grouping: judgeDevices(cases), by: \.key.node)

        var nodes = screens.map { name, screens -> FleetNode in
            var node = NodeEvidence()
            for screen in screens { node.read(screen.document, suite: suite, seed: seed) }
            if screens.count > 1 { node.screened(screens.map(\.file)) }
            let nodeDevices = (devices[name] ?? []).map(\.value).sorted { $0.id < $1.id }
            node.add(nodeDevices, threshold: threshold)
            return FleetNode(name: name, verdict: node.verdict, file: screens[0].file, evidence: node.lines, devices: nodeDevices)
        }
        nodes += expected.filter { screens[$0] == nil }.map {
            FleetNode(name: $0, verdict: .missing, file: nil, evidence: ["expected in the node list, no result file"], devices: [])
        }
        let order = Dictionary(uniqueKeysWithValues: FleetNode.Verdict.allCases.enumerated().map { ($1, $0) })
        nodes.sort { (order[$0.verdict]!, $0.name) < (order[$1.verdict]!, $1.name) }
        return FleetDocument(
            schemaVersion: FleetDocument.currentSchemaVersion, tool: .current, createdAt: Timestamp.now(), folder: folder,
            rescreenFolders: rescreenFolders.isEmpty ? nil : rescreenFolders, suite: suite, seed: seed, threshold: threshold, alpha: alpha,
            nodes: nodes, cases: cases.map(\.summary))
    }

    private struct FleetRunKind: Hashable {
        var suite: String
        var seed: UInt64
    }

    static func mostCommon<T: Hashable>(_ values: [T]) -> T? {
        Dictionary(values.map { ($0, 1) }, uniquingKeysWith: +).max { $0.value < $1.value }?.key
    }

    /// One case of one model, judged: the summary the document keeps, and each member's evidence.
    private struct JudgedCase {
        var summary: FleetCase
        var members: [(member: CaseGroups.Member, logRatio: Double, z: Double?, checksumMismatch: String?)]
    }

    private func judge(_ members: [CaseGroups.Member], key: CaseGroups.Key) -> JudgedCase {
        let floors = members.map(\.floor)
        let centre = Statistics.median(floors)
        let robust = 1.4826 * Statistics.median(floors.map { abs($0 - centre) })
        let repetitions = 1.4826 * Statistics.median(members.flatMap(\.deviations))
        let spread = max(robust, repetitions, RunNoise.minimumScatter)
        let judged = members.count >= Self.minimumPeers
        let checksums = ChecksumVote(members.compactMap { $0.checksums.count == 1 ? $0.checksums[0] : nil })
        let ratios = floors.map { exp($0 - centre) }.sorted()
        let summary = FleetCase(
            model: key.model, driver: key.driver, build: key.build, implementation: key.implementation, name: key.name, devices: members.count,
            medianSeconds: exp(centre), spread: spread, ratioQuantiles: [0.05, 0.25, 0.75, 0.95].map { Statistics.quantile(ratios, $0) },
            ratios: members.map { FleetCase.Ratio(node: $0.node, device: $0.device, ratio: exp($0.floor - centre)) }
                .sorted { ($0.node, $0.device) < ($1.node, $1.device) },
            checksum: checksums.majority, checksumAgreement: checksums.majority.map { checksums.counts[$0]! })
        return JudgedCase(
            summary: summary,
            members: members.map { member in
                let mismatch = member.checksums.count > 1
                    ? "its screens gave \(member.checksums.count) different outputs (\(member.checksums.joined(separator: ", ")))"
                    : checksums.mismatch(member.checksums.first)
                return (member, member.floor - centre, judged ? (member.floor - centre) / spread : nil, mismatch)
            })
    }

    private struct DeviceKey: Hashable {
        var node: String
        var device: String
    }

    /// Each device's cases combined, then every slow verdict held to `alpha` over the whole fleet.
    private func judgeDevices(_ cases: [JudgedCase]) -> [DeviceKey: FleetDevice] {
        var perDevice: [DeviceKey: [(label: String, logRatio: Double, z: Double?, mismatch: String?)]] = [:]
        var identity: [DeviceKey: (model: String, driver: String?)] = [:]
        for judged in cases {
            for entry in judged.members {
                let key = DeviceKey(node: entry.member.node, device: entry.member.device)
                perDevice[key, default: []].append(("\(judged.summary.implementation) \(judged.summary.name)", entry.logRatio, entry.z, entry.checksumMismatch))
                identity[key] = (judged.summary.model, judged.summary.driver)
            }
        }
        let keys = perDevice.keys.sorted { ($0.node, $0.device) < ($1.node, $1.device) }
        // One-sided: only a slower device is a finding.
        let combined = keys.map { key -> Double in
            let scores = perDevice[key]!.compactMap(\.z)
            return scores.isEmpty ? 1 : Self.upperTail(scores.reduce(0, +) / Double(scores.count).squareRoot())
        }
        let deviceP = Holm.adjusted(combined)
        let caseIndex = keys.flatMap { key in perDevice[key]!.indices.map { (key, $0) } }
        let caseP = Holm.adjusted(caseIndex.map { key, index in perDevice[key]![index].z.map(Self.upperTail) ?? 1 })
        var slowCases: [DeviceKey: [FleetDevice.SlowCase]] = [:]
        for ((key, index), p) in zip(caseIndex, caseP) {
            let entry = perDevice[key]![index]
            if p < alpha && exp(entry.logRatio) >= 1 + threshold {
                slowCases[key, default: []].append(FleetDevice.SlowCase(name: entry.label, ratio: exp(entry.logRatio), p: p))
            }
        }
        var devices: [DeviceKey: FleetDevice] = [:]
        for (key, p) in zip(keys, deviceP) {
            let entries = perDevice[key]!
            let ratio = exp(Statistics.median(entries.map(\.logRatio)))
            let judged = entries.contains { $0.z != nil }
            let slowOverall = judged && p < alpha && ratio >= 1 + threshold
            let slow = (slowCases[key] ?? []).sorted { $0.ratio > $1.ratio }
            devices[key] = FleetDevice(
                id: key.device, model: identity[key]!.model, driver: identity[key]!.driver, ratio: ratio, p: judged ? p : nil,
                slow: slowOverall || !slow.isEmpty, slowCases: slow, checksumMismatches: entries.compactMap(\.mismatch))
        }
        return devices
    }

    /// P(Z > z) for a standard normal Z.
    static func upperTail(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }
}

/// The fleet's ok cases and peak probes, grouped by device model and driver, NodeBench build,
/// implementation (or `peak`) and case (or probe). Another build may run other kernels, with other
/// output bits and speed: a node screened by it is compared only with that build's nodes.
struct CaseGroups {
    struct Key: Hashable {
        var model: String
        var driver: String?
        var build: String
        var implementation: String
        var name: String
    }

    struct Member {
        var node: String
        var device: String
        /// Log of its fastest repetition over its screens, in seconds.
        var floor: Double
        /// Its repetitions' distances from their screen's median, log scale.
        var deviations: [Double]
        /// The distinct output checksums its screens gave: one when it computes reproducibly.
        var checksums: [String]
    }

    private(set) var members: [Key: [Member]] = [:]
    /// In the order first met, so reports list cases as the suite does.
    private(set) var keys: [Key] = []
    /// Where each node's device sits in `members[key]`, to fold its re-screens into it.
    private var positions: [Key: [DevicePosition: Int]] = [:]

    private struct DevicePosition: Hashable {
        var node: String
        var device: String
    }

    init(_ documents: [(node: String, document: RunDocument)]) {
        for (node, document) in documents {
            let devices = Dictionary(document.node.devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let build = "\(document.tool.version) \(document.tool.gitCommit ?? "unknown commit") \(document.tool.buildConfiguration)"
            for result in document.results where result.status == .ok {
                guard let spread = RepetitionSpread(result.stats), let floor = spread.runFloors.min() else { continue }
                let device = devices[result.device]
                let key = Key(
                    model: device?.name ?? result.device, driver: device?.driver, build: build, implementation: result.implementation,
                    name: result.caseDescription + (result.variant.map { " [\($0)]" } ?? ""))
                add(
                    Member(node: node, device: result.device, floor: floor, deviations: spread.deviations, checksums: result.outputChecksum.map { [$0] } ?? []),
                    to: key)
            }
            for peak in document.peaks where peak.status == .ok {
                guard let stats = peak.stats, stats.min > 0 else { continue }
                // As a time: a lower rate reads as a slower device, like a longer case. The best
                // sample is the floor; its distance from the median stands for the samples' scatter.
                let (best, typical) = peak.probe == .launchLatency ? (log(stats.min), log(stats.median)) : (-log(stats.max), -log(stats.median))
                let device = devices[peak.device]
                let key = Key(
                    model: device?.name ?? peak.device, driver: device?.driver, build: build, implementation: "peak", name: "\(peak.probe.rawValue) \(peak.variant)")
                add(Member(node: node, device: peak.device, floor: best, deviations: [typical - best], checksums: []), to: key)
            }
        }
    }

    private mutating func add(_ member: Member, to key: Key) {
        if members[key] == nil { keys.append(key) }
        let position = DevicePosition(node: member.node, device: member.device)
        guard let index = positions[key]?[position] else {
            positions[key, default: [:]][position] = members[key, default: []].count
            members[key, default: []].append(member)
            return
        }
        members[key]![index].floor = min(members[key]![index].floor, member.floor)
        members[key]![index].deviations += member.deviations
        members[key]![index].checksums = Array(Set(members[key]![index].checksums + member.checksums)).sorted()
    }
}

/// Which output the devices of one model agree on. A checksum is wrong when another has more
/// votes; with no single checksum ahead, every device that differs from another is in doubt.
struct ChecksumVote {
    let counts: [String: Int]
    let majority: String?

    init(_ checksums: [String]) {
        counts = Dictionary(checksums.map { ($0, 1) }, uniquingKeysWith: +)
        let top = counts.values.max() ?? 0
        let leaders = counts.filter { $0.value == top }
        majority = leaders.count == 1 && top >= 2 ? leaders.first!.key : nil
    }

    /// Why `checksum` is suspect, or nil.
    func mismatch(_ checksum: String?) -> String? {
        guard let checksum, counts.count > 1 else { return nil }
        let total = counts.values.reduce(0, +)
        if let majority {
            return checksum == majority ? nil : "output checksum \(checksum), \(counts[majority]!) of \(total) devices gave \(majority)"
        }
        return "output checksum \(checksum): the \(total) devices gave \(counts.count) different outputs, none most often"
    }
}
