import Foundation
import Testing

@testable import NodeBenchKit

/// The fleet merge on simulated fleets with known properties: device speeds spread 1% (log-normal),
/// repetitions noised 1%, and chosen nodes slowed, corrupted or failed.
@Suite struct FleetTests {
    /// A node with a host and one accelerator, each running three cases at known times.
    static let base: RunDocument = {
        var host = DeviceDescriptor(hostCPU: "Test CPU", vendor: nil, blasBuild: "TestBLAS 1.0", cores: 8, memoryBytes: 1 << 36)
        host.id = DeviceDescriptor.hostID
        var accelerator = host
        accelerator.id = "opencl:0:0"
        accelerator.backend = .opencl
        accelerator.type = .gpu
        accelerator.name = "Test GPU"
        accelerator.driver = "550.1"
        var node = NodeDescription(BackendTests.inventory)
        node.devices = [host, accelerator]
        var document = RunDocument(tool: .current, suite: "screen", seed: 42, sampling: RunnerTests.sampling, node: node)
        let workloads: [Workload] = [
            .gemm(GEMMCase(shape: GEMMShape(m: 2048, n: 2048, k: 2048), layout: .nn, dtype: .fp32)),
            .gemm(GEMMCase(shape: GEMMShape(m: 2048, n: 2048, k: 2048), layout: .tn, dtype: .bf16)),
            .attention(AttentionCase(shape: try! AttentionShape(batch: 1, heads: 8, kvHeads: 8, seq: 2048, headDim: 64, causal: true), dtype: .fp32)),
        ]
        for (device, implementations) in [(host, ["openblas", "flash"]), (accelerator, ["nodebench", "flash"])] {
            for (index, workload) in workloads.enumerated() {
                var result = CaseResult(
                    workload, device: device, implementation: workload.kernel == .gemm ? implementations[0] : implementations[1], status: .ok)
                let seconds = 0.01 * Double(index + 1)
                let repetitions = (1...5).map {
                    CaseResult.RepetitionSummary(run: 0, kernelMedian: seconds, wallMedian: seconds, samples: 3, warmupRuns: 1, round: $0)
                }
                let samples = Statistics([Double](repeating: seconds, count: 15))!
                result.stats = CaseResult.TimingStats(unit: "s", kernel: samples, wall: samples, repetitions: repetitions)
                result.outputChecksum = String(format: "%016llx", UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
                document.results.append(result)
            }
        }
        document.peaks = [PeakMeasurement(device: accelerator.id, probe: .transferBandwidth, variant: "read", samples: [24, 25, 25], configuration: "")]
        document.complete = true
        return document
    }()

    static func fleet(_ simulation: FleetSimulation) -> [FleetMerge.NodeRun] {
        (0..<simulation.nodes).map { node in
            FleetMerge.NodeRun(
                name: simulation.name(node), file: simulation.name(node) + ".json", document: .success(simulation.document(node: node, from: base)))
        }
    }

    static func verdicts(_ fleet: FleetDocument) -> [String: FleetNode.Verdict] {
        Dictionary(uniqueKeysWithValues: fleet.nodes.map { ($0.name, $0.verdict) })
    }

    @Test(arguments: 1...20 as ClosedRange<UInt64>)
    func aCleanFleetNamesNoNode(seed: UInt64) {
        var simulation = FleetSimulation(nodes: 16, devicesPerNode: 8)
        simulation.seed = seed
        let fleet = FleetMerge().merge(Self.fleet(simulation), folder: "clean")
        #expect(fleet.flagged.isEmpty, "\(fleet.flagged.map { "\($0.name): \($0.evidence)" })")
        #expect(fleet.outcome.status == .ok)
        #expect(fleet.cases.count == 7, "6 cases and the peak probe")
        #expect(fleet.cases.filter { $0.implementation != "peak" }.allSatisfy { $0.checksumAgreement == $0.devices })
    }

    @Test func theSlowTheCorruptTheFailedAndTheMissingAreNamedAndNoOther() throws {
        var simulation = FleetSimulation(nodes: 12, devicesPerNode: 8)
        simulation.slowNodes = [2: 1.25]
        simulation.corruptNodes = [5]
        simulation.failedNodes = [7]
        let fleet = FleetMerge().merge(Self.fleet(simulation), expected: try HostList.expand("node[0001-0013]"), folder: "drill")
        let verdicts = Self.verdicts(fleet)
        #expect(verdicts["node0003"] == .slow)
        #expect(verdicts["node0006"] == .corrupt)
        #expect(verdicts["node0008"] == .failed)
        #expect(verdicts["node0013"] == .missing)
        #expect(fleet.flagged.map(\.name) == ["node0006", "node0008", "node0013", "node0003"], "most severe first")
        #expect(fleet.nodes.filter { $0.verdict == .healthy }.count == 9)
        let slow = try #require(fleet.nodes.first { $0.name == "node0003" })
        // Every device of the slowed node is named, at about the factor, sure of it.
        #expect(slow.devices.count == 9 && slow.devices.allSatisfy { $0.slow && abs($0.ratio! - 1.25) < 0.05 && $0.p! < 1e-6 })
        let corrupt = try #require(fleet.nodes.first { $0.name == "node0006" })
        #expect(corrupt.evidence.first?.contains("output checksum") == true && corrupt.evidence.first?.contains("95 of 96 devices") == true)
        #expect(fleet.nodes.first { $0.name == "node0008" }?.evidence.first?.contains("CL_OUT_OF_RESOURCES") == true)
        #expect(fleet.outcome.status == .regression)
        #expect(fleet.outcome.message?.hasPrefix("4 node(s) flagged: node0006 corrupt, node0008 failed, node0013 missing, node0003 slow") == true)
    }

    /// A newer build may compute other output bits: nodes screened by it are compared only among
    /// themselves, so none of them reads as corrupt, while a corrupt node of the older build still does.
    @Test func nodesOfAnotherBuildAreComparedOnlyWithEachOther() throws {
        var simulation = FleetSimulation(nodes: 12, devicesPerNode: 2)
        simulation.corruptNodes = [1]
        var runs = Self.fleet(simulation)
        for index in 8..<12 {
            var document = try runs[index].document.get()
            document.tool.gitCommit = "newer"
            for result in document.results.indices { document.results[result].outputChecksum = "00000000000000ff" }
            runs[index].document = .success(document)
        }
        let fleet = FleetMerge().merge(runs, folder: "two-builds")
        #expect(fleet.flagged.map(\.name) == ["node0002"])
        #expect(Set(fleet.cases.compactMap(\.build)).count == 2)
        #expect(FleetReport.text(fleet).contains("(0.1.0 newer "))
    }

    @Test func oneSlowDeviceAmongEightIsNamedWithinItsNode() throws {
        var simulation = FleetSimulation(nodes: 10, devicesPerNode: 8)
        simulation.slowDevices = [4: (device: 6, factor: 1.2)]
        let fleet = FleetMerge().merge(Self.fleet(simulation), folder: "one-gpu")
        #expect(fleet.flagged.map(\.name) == ["node0005"])
        let node = try #require(fleet.flagged.first)
        #expect(node.devices.filter(\.slow).map(\.id) == ["opencl:0:0/6"])
        #expect(node.evidence.contains { $0.hasPrefix("within the node, opencl:0:0/6 runs 1.") })
    }

    @Test func aDeviceWhosePeakFallsShortIsNamedByTheProbe() throws {
        let simulation = FleetSimulation(nodes: 8, devicesPerNode: 2)
        var runs = Self.fleet(simulation)
        var narrowLink = simulation.document(node: 5, from: Self.base)
        let index = try #require(narrowLink.peaks.firstIndex { $0.device == "opencl:0:0/1" })
        narrowLink.peaks[index].stats = Statistics([12, 12.5, 12.5])
        runs[5].document = .success(narrowLink)
        let fleet = FleetMerge().merge(runs, folder: "link")
        #expect(fleet.flagged.map(\.name) == ["node0006"])
        let device = try #require(fleet.flagged.first?.devices.first { $0.slow })
        #expect(device.id == "opencl:0:0/1" && device.slowCases.map(\.name) == ["peak transferBandwidth read"])
        #expect(abs(device.slowCases[0].ratio - 2) < 0.1, "half the rate reads as twice the time")
    }

    /// A node screened twice is judged on each case's fastest repetition over both screens: a
    /// slow first screen alone is forgiven, two slow screens are not, and two outputs are corrupt.
    @Test func aNodeScreenedAgainIsSlowOnlyIfBothScreensWere() throws {
        var firstScreen = FleetSimulation(nodes: 10, devicesPerNode: 2)
        firstScreen.slowNodes = [2: 1.25, 4: 1.25, 6: 1.25]
        var secondScreen = firstScreen
        secondScreen.seed = 2
        secondScreen.slowNodes = [4: 1.25, 6: 1.3]
        var again = Self.fleet(secondScreen).filter { ["node0003", "node0005", "node0007"].contains($0.name) }
        var otherOutput = try again[2].document.get()
        otherOutput.results[0].outputChecksum = "0123456789abcdef"
        again[2].document = .success(otherOutput)
        again = again.map { var run = $0; run.file = "again/" + run.file; return run }

        let fleet = FleetMerge().merge(Self.fleet(firstScreen) + again, folder: "nodes", rescreenFolders: ["again"])
        let verdicts = Self.verdicts(fleet)
        #expect(fleet.nodes.count == 10, "one entry per node, however often screened")
        #expect(verdicts["node0003"] == .healthy, "slow in its first screen only")
        #expect(verdicts["node0005"] == .slow, "slow in both")
        #expect(verdicts["node0007"] == .corrupt, "its screens disagree on an output")
        let corrupt = try #require(fleet.nodes.first { $0.name == "node0007" })
        #expect(corrupt.evidence.first?.contains("its screens gave 2 different outputs") == true)
        #expect(corrupt.evidence.contains { $0.hasPrefix("screened 2 times (node0007.json, again/node0007.json)") })
        #expect(fleet.rescreenFolders == ["again"])
    }

    @Test func aBurnInThatThrottlesOrChangesItsOutputFlagsItsNode() throws {
        let simulation = FleetSimulation(nodes: 6, devicesPerNode: 1)
        var runs = Self.fleet(simulation)
        let steady = BurnInTests.series(noise: 0.01, seed: 1) { _ in 1 }
        let hot = BurnInTests.series(noise: 0.01, seed: 2) { done in 1 - 0.3 * done }
        var changing = steady
        changing.outputChanges = 3
        for (node, burnIn) in [(0, steady), (1, hot), (2, changing)] {
            var document = try runs[node].document.get()
            document.burnIn = [burnIn]
            runs[node].document = .success(document)
        }
        let fleet = FleetMerge().merge(runs, folder: "burn-in")
        #expect(fleet.flagged.map(\.name) == ["node0003", "node0002"])
        #expect(Self.verdicts(fleet)["node0002"] == .slow && Self.verdicts(fleet)["node0003"] == .corrupt)
        #expect(fleet.flagged.last?.evidence.first?.hasSuffix(": throttling") == true)
    }

    /// A base file measured on a busy machine (repetitions 1x to 2x apart) makes the same fleet: its
    /// nodes' repetitions scatter by the simulation's noise, so a node 25% slower is still found.
    @Test func aBusyBaseFileMakesAFleetAsClearAsAQuietOne() throws {
        var busy = Self.base
        for index in busy.results.indices {
            let repetitions = try #require(busy.results[index].stats?.repetitions)
            busy.results[index].stats?.repetitions = zip(repetitions, [1, 2, 1.1, 1.6, 1.3]).map { repetition, factor in
                var scattered = repetition
                scattered.kernelMedian *= factor
                scattered.wallMedian *= factor
                return scattered
            }
        }
        var simulation = FleetSimulation(nodes: 8, devicesPerNode: 2)
        simulation.slowNodes = [3: 1.25]
        let runs = (0..<simulation.nodes).map { node in
            FleetMerge.NodeRun(name: simulation.name(node), file: "", document: .success(simulation.document(node: node, from: busy)))
        }
        let fleet = FleetMerge().merge(runs, folder: "busy")
        #expect(fleet.flagged.map(\.name) == ["node0004"])
        let slow = try #require(fleet.flagged.first)
        #expect(slow.devices.allSatisfy { $0.slow && abs($0.ratio! - 1.25) < 0.05 })
    }

    @Test func aSlowdownBelowTheThresholdIsNotNamedHoweverSure() {
        var simulation = FleetSimulation(nodes: 20, devicesPerNode: 8)
        simulation.slowNodes = [3: 1.05]
        #expect(FleetMerge().merge(Self.fleet(simulation), folder: "small").flagged.isEmpty)
        #expect(Self.verdicts(FleetMerge(threshold: 0.03).merge(Self.fleet(simulation), folder: "small"))["node0004"] == .slow)
    }

    @Test func aFleetTooSmallToSayWhatIsNormalJudgesNoSpeed() {
        var simulation = FleetSimulation(nodes: 2, devicesPerNode: 1)
        simulation.slowNodes = [1: 2]
        let fleet = FleetMerge().merge(Self.fleet(simulation), folder: "pair")
        #expect(fleet.flagged.isEmpty)
        #expect(fleet.nodes.allSatisfy { $0.devices.allSatisfy { $0.p == nil } })
    }

    @Test func filesThatCannotBeJudgedFailTheirNode() {
        let simulation = FleetSimulation(nodes: 6, devicesPerNode: 2)
        var runs = Self.fleet(simulation)
        runs[0].document = .failure(RunDocument.LoadError(description: "node0001.json is a corrupt NodeBench result file"))
        var otherSeed = Self.base
        otherSeed.seed = 7
        runs[1].document = .success(otherSeed)
        var unfinished = simulation.document(node: 2, from: Self.base)
        unfinished.complete = false
        runs[2].document = .success(unfinished)
        var unrepeatable = simulation.document(node: 3, from: Self.base)
        unrepeatable.results[1].status = .failed
        unrepeatable.results[1].reason = "a second execution of the same inputs differs in 1 of 9 elements: the device does not compute reproducibly"
        runs[3].document = .success(unrepeatable)
        let fleet = FleetMerge().merge(runs, folder: "broken")
        let verdicts = Self.verdicts(fleet)
        #expect([verdicts["node0001"], verdicts["node0002"], verdicts["node0003"]] == [.failed, .failed, .failed])
        #expect(verdicts["node0004"] == .corrupt, "a device that disagrees with itself computes wrongly")
        #expect(fleet.nodes.first { $0.name == "node0002" }?.evidence.first?.contains("seed 7") == true)
        #expect(fleet.seed == 42)
    }

    @Test func twoDevicesThatDisagreeWithNoMajorityAreBothInDoubt() {
        let vote = ChecksumVote(["a", "b"])
        #expect(vote.majority == nil)
        #expect(vote.mismatch("a") != nil && vote.mismatch("b") != nil)
        let settled = ChecksumVote(["a", "a", "b"])
        #expect(settled.majority == "a" && settled.mismatch("a") == nil)
        #expect(settled.mismatch("b") == "output checksum b, 2 of 3 devices gave a")
    }

    @Test(arguments: [
        ("n[1-4]", ["n1", "n2", "n3", "n4"]),
        ("gpu[008-010,012],login", ["gpu008", "gpu009", "gpu010", "gpu012", "login"]),
        ("a1, b2", ["a1", "b2"]),
    ])
    func slurmNodeListsExpand(list: String, names: [String]) throws {
        #expect(try HostList.expand(list) == names)
    }

    @Test(arguments: ["n[1-", "n[4-1]", "n[x]", "", "n[1]]"])
    func badNodeListsAreUsageErrors(list: String) {
        #expect(throws: UsageError.self) { try HostList.expand(list) }
    }

    @Test func aLargeFleetsPageBinsItsHealthyNodesAndKeepsEverySuspect() throws {
        var simulation = FleetSimulation(nodes: 400, devicesPerNode: 1)
        simulation.slowNodes = [17: 1.3]
        let fleet = FleetMerge().merge(Self.fleet(simulation), folder: "large")
        let page = try FleetReport.render(fleet, as: .html)
        let rows = page.components(separatedBy: "<tr>").count - 1
        #expect(rows < 200, "\(rows) rows")
        #expect(page.contains("node0018 (slow)") && page.contains("healthy nodes in bins of 4"))
        #expect(!page.contains("http://") || page.contains("xmlns=\"http://www.w3.org/2000/svg\""), "nothing fetched")
        let markdown = try FleetReport.render(fleet, as: .markdown)
        #expect(markdown.contains("| node0018 | **slow** |"))
        let json = try FleetReport.render(fleet, as: .json)
        #expect(try JSONDecoder().decode(FleetDocument.self, from: Data(json.utf8)).flagged.map(\.name) == ["node0018"])
    }
}
