import Foundation

/// Something that looks wrong with the node or the measurement, with the evidence and a fix.
public struct Finding: Codable, Sendable, Equatable {
    /// Stable identifier, e.g. `blas-core-older-isa`.
    public var id: String
    /// `warning` (likely costs performance or trust) or `info`.
    public var severity: String
    public var device: String?
    public var summary: String
    public var evidence: String
    public var action: String
}

/// Reads a run's context, peaks and results and says what looks wrong. Pure: the same inputs
/// always give the same findings.
public struct Diagnosis {
    public var tool: ToolInfo
    public var node: NodeDescription
    public var peaks: [PeakMeasurement]
    public var theoretical: [TheoreticalPeak]
    public var results: [CaseResult]

    /// Coefficient of variation above which timings are called noisy.
    static let noisyCV = 0.10
    /// Measured compute below this share of the theoretical peak is called slow.
    static let slowShare = 0.5

    public init(_ document: RunDocument) {
        tool = document.tool
        node = document.node
        peaks = document.peaks
        theoretical = document.theoreticalPeaks
        results = document.results
    }

    public var findings: [Finding] {
        [debugBuild(), blasCore(), blasThreads(), hostKernelsBaselineBuild()].compactMap { $0 }
            + numaBandwidthImbalance() + belowTheoretical() + measurementErrors() + noisyTimings()
    }

    private func debugBuild() -> Finding? {
        guard tool.buildConfiguration == "debug" else { return nil }
        return Finding(
            id: "debug-build", severity: "warning", device: nil, summary: "nodebench itself is a debug build",
            evidence: "tool.buildConfiguration is debug: host-side code (verification, probes' setup) runs many times slower",
            action: "build with `swift build -c release` (scripts/bench does) before trusting any figure")
    }

    private func format(_ value: Double) -> String { String(format: "%.1f", value) }

    private func bestHostSGEMM(variant: String?) -> Double? {
        results.filter { $0.device == DeviceDescriptor.hostID && $0.dtype == .fp32 && $0.variant == variant }.compactMap(\.gflops).max()
    }

    /// OpenBLAS chose kernels for an older instruction set than the CPU has, or another core type
    /// measured faster.
    private func blasCore() -> Finding? {
        let cpuLevel = node.cpu.isaLevel
        let suitable = node.cpu.suitableBLASCore
        let coreLevel = HostCPU.isaLevel(ofBLASCore: node.blas.coreName)
        var evidence = "OpenBLAS \(node.blas.version ?? "") runs its \(node.blas.coreName) kernels; the CPU (\(node.cpu.modelName)) "
            + "supports \(HostCPU.isaName(level: cpuLevel))"
        let current = bestHostSGEMM(variant: nil)
        if let current {
            evidence += "; best host sgemm \(format(current)) GFLOP/s"
            if let peak = peaks.first(where: { $0.device == DeviceDescriptor.hostID && $0.probe == .compute && $0.variant == "fp32" })?.value {
                evidence += " = \(String(format: "%.0f", current / peak * 100))% of the measured fp32 peak (\(format(peak)) GFLOP/s)"
            }
        }
        let alternatives = Set(results.compactMap(\.variant)).sorted()
        var fasterAlternative: (String, Double)?
        for variant in alternatives {
            guard let gflops = bestHostSGEMM(variant: variant), let current else { continue }
            evidence += "; with \(variant): \(format(gflops)) GFLOP/s (\(String(format: "%+.0f", (gflops / current - 1) * 100))%)"
            if gflops > current * 1.1, gflops > (fasterAlternative?.1 ?? 0) { fasterAlternative = (variant, gflops) }
        }
        if let coreLevel, coreLevel < cpuLevel {
            // The environment may force the choice: then the fix is there, not in OpenBLAS.
            if let forced = node.environment["OPENBLAS_CORETYPE"] {
                return Finding(
                    id: "blas-core-older-isa", severity: "warning", device: DeviceDescriptor.hostID,
                    summary: "host BLAS uses \(HostCPU.isaName(level: coreLevel)) kernels on a \(HostCPU.isaName(level: cpuLevel)) CPU, "
                        + "forced by OPENBLAS_CORETYPE=\(forced) in the environment",
                    evidence: evidence,
                    action: "unset OPENBLAS_CORETYPE (or set it to \(suitable)) where the workload runs; "
                        + "measure it with `nodebench run --blas-coretype \(suitable)`")
            }
            return Finding(
                id: "blas-core-older-isa", severity: "warning", device: DeviceDescriptor.hostID,
                summary: "host BLAS uses \(HostCPU.isaName(level: coreLevel)) kernels on a \(HostCPU.isaName(level: cpuLevel)) CPU",
                evidence: evidence,
                action: "set OPENBLAS_CORETYPE=\(suitable) for the workload; measure it with `nodebench run --blas-coretype \(suitable)`")
        }
        if let (variant, _) = fasterAlternative {
            return Finding(
                id: "blas-core-faster-alternative", severity: "warning", device: DeviceDescriptor.hostID,
                summary: "host BLAS is faster with \(variant)", evidence: evidence, action: "set \(variant) for the workload")
        }
        return nil
    }

    /// The loader picked the host kernels' baseline build on a CPU whose flags name AVX2 and FMA:
    /// the layer ops and attention's softmax steps on the host then run at a fraction of their speed.
    private func hostKernelsBaselineBuild() -> Finding? {
        guard node.cpu.kernelsFuseMultiplyAdd == false, node.cpu.isaLevel >= 2 else { return nil }
        return Finding(
            id: "host-kernels-baseline-build", severity: "warning", device: DeviceDescriptor.hostID,
            summary: "host kernels run their baseline SSE2 build on a \(HostCPU.isaName(level: node.cpu.isaLevel)) CPU",
            evidence: "a multiply-add in the picked build rounds twice; the CPU (\(node.cpu.modelName)) lists "
                + node.cpu.flags.filter { ["avx2", "avx512f", "fma"].contains($0) }.joined(separator: ", ")
                + "; on a Zen 3 CPU the AVX2 build ran the host's layer ops up to 5.7x and its flash attention 1.2x as fast",
            action: "build nodebench from an unmodified checkout (its host kernels are cloned per instruction set and picked by "
                + "CPU features) and check that the hypervisor exposes AVX state to the guest; until then the host's layer-op "
                + "and attention figures are not this CPU's")
    }

    private func blasThreads() -> Finding? {
        let cores = node.topology?.cores ?? node.host.logicalCPUs
        let threads = node.blas.threads
        if threads < cores {
            return Finding(
                id: "blas-threads-fewer-than-cores", severity: "warning", device: DeviceDescriptor.hostID,
                summary: "host BLAS uses \(threads) thread(s) on \(cores) cores",
                evidence: "openblas_get_num_threads() = \(threads), hwloc counts \(cores) cores; environment: "
                    + describeThreadVariables(),
                action: "unset OPENBLAS_NUM_THREADS/OMP_NUM_THREADS or set them to \(cores)")
        }
        if threads > node.host.logicalCPUs {
            return Finding(
                id: "blas-threads-oversubscribed", severity: "warning", device: DeviceDescriptor.hostID,
                summary: "host BLAS uses \(threads) threads on \(node.host.logicalCPUs) logical CPUs",
                evidence: "openblas_get_num_threads() = \(threads); environment: " + describeThreadVariables(),
                action: "set OPENBLAS_NUM_THREADS to \(cores) (one per core)")
        }
        return nil
    }

    private func describeThreadVariables() -> String {
        let variables = node.environment.filter { $0.key.hasSuffix("NUM_THREADS") }.sorted { $0.key < $1.key }
        return variables.isEmpty ? "no thread variables set" : variables.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    /// NUMA nodes are built alike: one far slower than the best has a bad or missing memory module.
    private func numaBandwidthImbalance() -> [Finding] {
        let perNode = peaks.filter { $0.probe == .memoryBandwidth && $0.variant.hasPrefix("triad@node") && $0.value != nil }
        guard perNode.count > 1, let best = perNode.compactMap(\.value).max() else { return [] }
        return perNode.filter { $0.value! < best * 0.7 }.map { slow in
            Finding(
                id: "numa-bandwidth-imbalance", severity: "warning", device: slow.device,
                summary: "memory bandwidth of \(slow.variant.dropFirst("triad@".count)) is far below the other NUMA nodes",
                evidence: "triad \(format(slow.value!)) GB/s vs best node \(format(best)) GB/s ("
                    + perNode.map { "\($0.variant) \(format($0.value!))" }.joined(separator: ", ") + ")",
                action: "check the DIMMs of that socket/node (dmidecode -t memory, BIOS memory population) and its memory errors (edac)")
        }
    }

    private func belowTheoretical() -> [Finding] {
        theoretical.compactMap { roof in
            guard let measured = peaks.first(where: {
                $0.device == roof.device && $0.probe == .compute && $0.variant == roof.dtype.rawValue
            })?.value else { return nil }
            let share = measured / roof.gflops
            let evidence = "measured \(format(measured)) GFLOP/s \(roof.dtype.rawValue) vs theoretical \(format(roof.gflops)) GFLOP/s "
                + "(\(String(format: "%.0f", share * 100))%); theoretical = \(roof.source)"
            if share < Diagnosis.slowShare {
                return Finding(
                    id: "compute-below-theoretical", severity: "warning", device: roof.device,
                    summary: "\(roof.device) reaches only \(String(format: "%.0f", share * 100))% of its theoretical \(roof.dtype.rawValue) peak",
                    evidence: evidence,
                    action: "check clock throttling and power capping (CPU governor, nvidia-smi -q -d CLOCK,POWER), and that the driver targets this device")
            }
            if share > 1.1 {
                return Finding(
                    id: "theoretical-peak-understated", severity: "info", device: roof.device,
                    summary: "\(roof.device) measures above its derived theoretical \(roof.dtype.rawValue) peak",
                    evidence: evidence, action: "the clock used for the theoretical figure is below the running clock (turbo); read it as a lower bound")
            }
            return nil
        }
    }

    private func measurementErrors() -> [Finding] {
        results.filter { $0.efficiency?.measurementError == true }.map { result in
            Finding(
                id: "above-measured-peak", severity: "warning", device: result.device,
                summary: "\(result.device) \(result.caseDescription) measured above the device's peak",
                evidence: "\(format(result.gflops ?? 0)) GFLOP/s = \(String(format: "%.0f", result.efficiency?.percentOfPeak ?? 0))% "
                    + "of the measured \(result.accumulationType.rawValue) peak \(format(result.efficiency?.peakGflops ?? 0)) GFLOP/s",
                action: "treat this figure as a measurement error, not a win: re-run, and check the peak probe and the case's timing")
        }
    }

    /// Timings that vary a lot: noisy neighbours, frequency scaling, thermal throttling.
    private func noisyTimings() -> [Finding] {
        var noisy: [String: [String]] = [:]
        for result in results {
            if let stats = result.stats, stats.kernel.count >= 3, stats.kernel.cv > Diagnosis.noisyCV {
                noisy[result.device, default: []].append("\(result.implementation) \(result.caseDescription) CV \(String(format: "%.0f", stats.kernel.cv * 100))%")
            }
        }
        for peak in peaks {
            if let stats = peak.stats, stats.count >= 3, stats.cv > Diagnosis.noisyCV, peak.probe != .launchLatency {
                noisy[peak.device, default: []].append("\(peak.probe.rawValue) \(peak.variant) CV \(String(format: "%.0f", stats.cv * 100))%")
            }
        }
        return noisy.keys.sorted().map { device in
            let cases = noisy[device]!
            return Finding(
                id: "noisy-timings", severity: "warning", device: device,
                summary: "\(cases.count) measurement(s) on \(device) vary by more than \(Int(Diagnosis.noisyCV * 100))%",
                evidence: cases.prefix(5).joined(separator: "; ") + (cases.count > 5 ? "; and \(cases.count - 5) more" : ""),
                action: "stop other work on the node, set the CPU governor to performance, and re-run; compare only runs with low CV")
        }
    }
}

extension HostCPU {
    static func isaName(level: Int) -> String {
        switch level {
        case 3: "AVX-512"
        case 2: "AVX2+FMA"
        case 1: "AVX"
        default: "SSE"
        }
    }
}
