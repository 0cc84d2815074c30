import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HostKernels
import Testing

@testable import NodeBenchKit

/// Findings fire on constructed evidence and stay quiet on a healthy node.
@Suite struct DiagnosisTests {
    static func healthyDocument() -> RunDocument {
        var node = NodeDescription(BackendTests.inventory, environment: [:])
        node.cpu = TheoreticalPeakTests.zen4
        node.blas.coreName = "Cooperlake"
        node.blas.threads = node.topology?.cores ?? node.host.logicalCPUs
        var tool = ToolInfo.current
        tool.buildConfiguration = "release"
        var document = RunDocument(tool: tool, suite: "test", seed: 1, sampling: RunnerTests.suite.sampling, node: node)
        document.theoreticalPeaks = [TheoreticalPeak(device: "host", dtype: .fp32, gflops: 200, source: "test")]
        document.peaks = [peak("host", .compute, "fp32", 190), peak("host", .memoryBandwidth, "triad", 30)]
        document.results = [gemm(gflops: 150, cv: 0.02)]
        return document
    }

    static func peak(_ device: String, _ probe: PeakProbe, _ variant: String, _ value: Double, cv: Double = 0.01) -> PeakMeasurement {
        // `value` is the best sample, as the probes report it.
        PeakMeasurement(device: device, probe: probe, variant: variant, samples: [value * (1 - cv), value * (1 - cv / 2), value], configuration: "test")
    }

    static func gemm(device: String = "host", gflops: Double, cv: Double, variant: String? = nil) -> CaseResult {
        let gemm = GEMMCase(shape: GEMMShape(m: 1024, n: 1024, k: 1024), layout: .nn, dtype: .fp32)
        var descriptor = BackendTests.inventory.devices[0]
        descriptor.id = device
        var result = CaseResult(gemm: gemm, device: descriptor, implementation: "openblas", status: .ok)
        let median = gemm.shape.flops / gflops / 1e9
        let samples = [median * (1 - cv), median, median * (1 + cv)]
        result.stats = .init(unit: "s", kernel: Statistics(samples)!, wall: Statistics(samples)!, repetitions: [])
        result.gflops = gflops
        result.variant = variant
        return result
    }

    static func ids(_ document: RunDocument) -> [String] { Diagnosis(document).findings.map(\.id) }

    @Test func aHealthyNodeHasNoFindings() {
        #expect(Self.ids(Self.healthyDocument()) == [])
    }

    @Test func blasKernelsForAnOlderISA() throws {
        var document = Self.healthyDocument()
        document.node.blas.coreName = "Haswell"
        let finding = try #require(Diagnosis(document).findings.first)
        #expect(finding.id == "blas-core-older-isa")
        #expect(finding.summary == "host BLAS uses AVX2+FMA kernels on a AVX-512 CPU")
        #expect(finding.evidence.contains("best host sgemm 150.0 GFLOP/s = 79% of the measured fp32 peak (190.0 GFLOP/s)"))
        #expect(finding.action.contains("OPENBLAS_CORETYPE=Cooperlake"))
    }

    @Test func theHostKernelsBaselineBuildOnAnAVX2CPU() throws {
        var document = Self.healthyDocument()
        document.node.cpu.flags = ["avx", "avx2", "fma"]
        document.node.cpu.kernelsFuseMultiplyAdd = false
        let finding = try #require(Diagnosis(document).findings.first)
        #expect(finding.id == "host-kernels-baseline-build")
        #expect(finding.summary == "host kernels run their baseline SSE2 build on a AVX2+FMA CPU")
        #expect(finding.evidence.contains("lists avx2, fma"))
        #expect(document.node.cpu.kernelBuild == "baseline SSE2 build")
        // The fused build, a file from before the field, and a CPU without AVX2: nothing to report.
        for (flags, fuses) in [(["avx", "avx2", "fma"], true), (["avx", "avx2", "fma"], nil), (["avx"], false)] as [([String], Bool?)] {
            document.node.cpu.flags = flags
            document.node.cpu.kernelsFuseMultiplyAdd = fuses
            #expect(Self.ids(document) == [])
        }
        document.node.cpu.flags = ["avx2", "avx512f", "fma"]
        document.node.cpu.kernelsFuseMultiplyAdd = true
        #expect(document.node.cpu.kernelBuild == "AVX-512 build")
    }

    @Test func olderKernelsForcedByTheEnvironmentSaySo() throws {
        var document = Self.healthyDocument()
        document.node.blas.coreName = "Haswell"
        document.node.environment["OPENBLAS_CORETYPE"] = "Haswell"
        let finding = try #require(Diagnosis(document).findings.first)
        #expect(finding.id == "blas-core-older-isa")
        #expect(finding.summary.hasSuffix("forced by OPENBLAS_CORETYPE=Haswell in the environment"))
        #expect(finding.action.hasPrefix("unset OPENBLAS_CORETYPE (or set it to Cooperlake)"))
    }

    @Test func anotherCoreTypeMeasuredFaster() throws {
        var document = Self.healthyDocument()
        document.results.append(Self.gemm(gflops: 190, cv: 0.02, variant: "OPENBLAS_CORETYPE=SkylakeX"))
        let finding = try #require(Diagnosis(document).findings.first)
        #expect(finding.id == "blas-core-faster-alternative")
        #expect(finding.evidence.contains("with OPENBLAS_CORETYPE=SkylakeX: 190.0 GFLOP/s (+27%)"))
        // A slower alternative is reported nowhere as a finding.
        document.results[1] = Self.gemm(gflops: 140, cv: 0.02, variant: "OPENBLAS_CORETYPE=Haswell")
        #expect(Self.ids(document) == [])
    }

    @Test func blasThreadCounts() {
        var document = Self.healthyDocument()
        let cores = document.node.topology?.cores ?? 1
        document.node.blas.threads = max(1, cores - 1)
        document.node.environment = ["OPENBLAS_NUM_THREADS": "1"]
        if cores > 1 { #expect(Self.ids(document) == ["blas-threads-fewer-than-cores"]) }
        document.node.blas.threads = document.node.host.logicalCPUs * 4
        #expect(Self.ids(document) == ["blas-threads-oversubscribed"])
    }

    @Test func oneSlowNUMANode() throws {
        var document = Self.healthyDocument()
        document.peaks += [Self.peak("host", .memoryBandwidth, "triad@node0", 40), Self.peak("host", .memoryBandwidth, "triad@node1", 20)]
        let finding = try #require(Diagnosis(document).findings.first)
        #expect(finding.id == "numa-bandwidth-imbalance" && finding.summary.contains("node1"))
        document.peaks[3] = Self.peak("host", .memoryBandwidth, "triad@node1", 38)
        #expect(Self.ids(document) == [])
    }

    @Test func aDeviceFarBelowItsTheoreticalPeak() throws {
        var document = Self.healthyDocument()
        document.peaks[0] = Self.peak("host", .compute, "fp32", 80)
        let finding = try #require(Diagnosis(document).findings.first)
        #expect(finding.id == "compute-below-theoretical")
        #expect(finding.evidence.contains("measured 80.0 GFLOP/s fp32 vs theoretical 200.0 GFLOP/s (40%)"))
    }

    @Test func aResultAboveTheMeasuredPeakIsAMeasurementError() throws {
        var document = Self.healthyDocument()
        document.results[0] = Self.gemm(gflops: 210, cv: 0.02)
        let roofline = Roofline(device: "host", peaks: document.peaks, theoretical: document.theoreticalPeaks)
        document.results[0].efficiency = roofline.efficiency(of: document.results[0])
        #expect(document.results[0].efficiency?.measurementError == true)
        #expect(Self.ids(document) == ["above-measured-peak"])
    }

    @Test func noisyTimings() throws {
        var document = Self.healthyDocument()
        document.results[0] = Self.gemm(gflops: 150, cv: 0.3)
        let finding = try #require(Diagnosis(document).findings.first)
        #expect(finding.id == "noisy-timings" && finding.evidence.contains("openblas gemm fp32 NN 1024x1024x1024 CV"))
    }

    @Test func aDebugBuild() {
        var document = Self.healthyDocument()
        document.tool.buildConfiguration = "debug"
        #expect(Self.ids(document) == ["debug-build"])
    }
}

@Suite struct RooflineTests {
    @Test func efficiencyReadsACaseAgainstItsDevice() throws {
        let peaks = [DiagnosisTests.peak("host", .compute, "fp32", 200), DiagnosisTests.peak("host", .memoryBandwidth, "read", 20)]
        let roofline = Roofline(device: "host", peaks: peaks, theoretical: [])
        #expect(roofline.compute[.fp32]?.gflops == 200)
        let result = DiagnosisTests.gemm(gflops: 100, cv: 0.01)
        let efficiency = roofline.efficiency(of: result)
        // 2·1024³ FLOP over 3·1024² fp32 elements of 4 bytes: 1024/6 FLOP/byte.
        #expect(abs(efficiency.arithmeticIntensity - 1024.0 / 6) < 1e-9)
        #expect(abs(efficiency.percentOfPeak! - 50) < 1e-9)
        #expect(efficiency.boundBy == "compute" && efficiency.peakSource == "measured" && !efficiency.measurementError)

        var small = DiagnosisTests.gemm(gflops: 1, cv: 0.01)
        small.shape = GEMMShape(m: 4, n: 4, k: 4)
        small.flops = small.shape!.flops
        #expect(roofline.efficiency(of: small).boundBy == "memory")
    }

    @Test func theoreticalPeaksStandInWhereNothingWasMeasured() {
        let roofline = Roofline(device: "host", peaks: [], theoretical: [TheoreticalPeak(device: "host", dtype: .fp32, gflops: 100, source: "x")])
        let efficiency = roofline.efficiency(of: DiagnosisTests.gemm(gflops: 120, cv: 0.01))
        #expect(efficiency.peakSource == "theoretical" && efficiency.percentOfPeak == 120)
        #expect(!efficiency.measurementError)  // only a measured peak can prove a measurement wrong
    }

    @Test func theSVGIsWellFormedAndNamesEveryPoint() throws {
        let peaks = [DiagnosisTests.peak("host", .compute, "fp32", 200), DiagnosisTests.peak("host", .memoryBandwidth, "read", 20)]
        let roofline = Roofline(device: "host", peaks: peaks, theoretical: [])
        var results = [DiagnosisTests.gemm(gflops: 100, cv: 0.01), DiagnosisTests.gemm(gflops: 50, cv: 0.01, variant: "OPENBLAS_CORETYPE=A&B")]
        for index in results.indices { results[index].efficiency = roofline.efficiency(of: results[index]) }
        let svg = RooflineSVG.render(roofline, deviceName: "CPU <test>", results: results)
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2)
        #expect(svg.contains("openblas gemm fp32 NN 1024x1024x1024"))
        #expect(svg.contains("openblas OPENBLAS_CORETYPE=A&amp;B gemm fp32 NN 1024x1024x1024"))
        #expect(svg.contains("fp32 compute roof") && svg.contains("memory bandwidth slope: 20.0 GB/s"))
    }
}

@Suite struct DevicesReportTests {
    @Test func theCPULineNamesTheBuildOfTheHostKernelsThatRuns() throws {
        let node = NodeDescription(NodeInventory.discover(), environment: [:])
        #expect(node.cpu.kernelsFuseMultiplyAdd == HostKernelClone.fusesMultiplyAdd)
        let build = try #require(node.cpu.kernelBuild)
        let cpuLine = DevicesReport.text(node).split(separator: "\n").first { $0.hasPrefix("CPU ") }
        #expect(cpuLine?.hasSuffix("; host kernels: \(build)") == true)
    }

    @Test func memorySaysBothFiguresWhenHwlocAndTheKernelDisagree() throws {
        var topology = try #require(NodeInventory.discover().topology)
        topology.numaNodes = [topology.numaNodes[0]]
        topology.numaNodes[0].memoryBytes = 6 << 30
        topology.totalMemoryBytes = 6 << 30
        #expect(DevicesReport.memoryLine(topology, kernelBytes: 6 << 30) == "6.0 GiB in 1 NUMA node(s): node \(topology.numaNodes[0].index) 6.0 GiB")
        let line = DevicesReport.memoryLine(topology, kernelBytes: 24 << 30)
        #expect(line.hasPrefix("24.0 GiB (the kernel's MemTotal); the 1 NUMA node(s): "))
        #expect(line.hasSuffix("hold 6.0 GiB as hwloc reads them from sysfs"))
    }
}

@Suite struct UnregisteredDriverTests {
    @Test func aDriverNoVendorFileNamesIsSaidWithTheFixUntilItIsRegistered() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nodebench-icd-\(UUID())")
        let libraries = root.appendingPathComponent("lib"), vendors = root.appendingPathComponent("vendors")
        try FileManager.default.createDirectory(at: libraries, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: vendors, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data().write(to: libraries.appendingPathComponent("libnvidia-opencl.so.1"))
        try Data("libpocl.so.2\n".utf8).write(to: vendors.appendingPathComponent("pocl.icd"))
        let drivers = UnregisteredDrivers(environment: ["OCL_ICD_VENDORS": vendors.path], libraryFolders: [libraries.path])
        let problems = drivers.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.contains("\(libraries.path)/libnvidia-opencl.so.1 is installed but no ICD file in \(vendors.path)") == true)
        #expect(problems.first?.contains("fix: echo libnvidia-opencl.so.1 > \(vendors.path)/nvidia.icd") == true)
        try Data("libnvidia-opencl.so.1\n".utf8).write(to: vendors.appendingPathComponent("nvidia.icd"))
        #expect(drivers.problems().isEmpty)
    }
}
