import Foundation
import OpenCLKit

/// One invocation's measurements: peaks and cases on a set of devices, saved to the result file
/// after each one, then read against each other (efficiency, findings, rooflines) at the end.
public final class RunSession {
    public private(set) var document: RunDocument
    public let url: URL
    private let inventory: NodeInventory
    private let file: ResultsFile
    private let log: (String) -> Void
    private var writeError: Error?
    /// Set by `run --model`: the cases are this step's, and the end of the run breaks it down per device.
    public var trainingStep: TrainingStep?

    public init(inventory: NodeInventory, suite: Suite, seed: UInt64, output: URL, log: @escaping (String) -> Void) throws(CommandFailure) {
        self.inventory = inventory
        self.log = log
        url = output
        document = RunDocument(
            tool: .current, suite: suite.name, seed: seed, sampling: suite.sampling, node: NodeDescription(inventory))
        do {
            file = try ResultsFile(url: output)
            try file.write(document)
        } catch {
            throw CommandFailure(status: .ioError, message: "cannot write results to \(output.path): \(error.localizedDescription)")
        }
    }

    public func measurePeaks(on devices: [DeviceDescriptor], policy: PeakPolicy) {
        let runner = PeakRunner(inventory: inventory, devices: devices, policy: policy)
        document.theoreticalPeaks = runner.theoreticalPeaks()
        runner.run(
            onStart: { log("[peak] \($0)") },
            onMeasurement: { peak in
                document.peaks.append(peak)
                if peak.status != .ok { log("  \(peak.status.rawValue): \(peak.reason ?? "")") }
                save()
            })
    }

    func runCases(
        _ suite: Suite, on devices: [DeviceDescriptor], implementations: Set<Implementation>, tuned: TunedParameters,
        injections: DebugInjections = DebugInjections(), caseTimeout: Double = Runner.defaultCaseTimeout
    ) {
        let start = MonotonicClock.now()
        let earlier = document.results.count
        var reported = Set<String>()
        Runner(
            suite: suite, devices: devices, inventory: inventory, seed: document.seed, implementations: implementations,
            tuned: tuned, injections: injections, caseTimeout: caseTimeout, warn: log
        ).run(
            onStart: { progress in
                let elapsed = MonotonicClock.now() - start
                let done = progress.index - 1
                let left = done > 0 ? ", ~\(clock(elapsed / Double(done) * Double(progress.total - done))) left" : ""
                let step = switch progress.step {
                case .verify: "verify"
                case .repetition(let round, let rounds): "time \(round)/\(rounds)"
                }
                log("[\(progress.index)/\(progress.total) \(clock(elapsed)) elapsed\(left)] \(step) \(progress.device) "
                    + "\(progress.implementation.rawValue) \(progress.workload)")
            },
            onResults: { results in
                document.results.replaceSubrange(earlier..., with: results)
                for result in results where result.status != .ok && result.status != .verified && reported.insert(CaseKey(result).description).inserted {
                    log("  \(result.status.rawValue): \(CaseKey(result)): \(result.reason ?? "")")
                }
                save()
            })
        for selector in injections.unmatchedSelectors(document.results[earlier...]) {
            log("warning: the --debug selector '\(selector)' matched no case")
        }
    }

    /// Everything `request` asks of this session, whose cases are `suite` (`request.cases()`): the
    /// peaks unless left out, the cases, and the host's OpenBLAS cases again under another core
    /// type when asked.
    public func run(_ request: RunRequest, cases suite: Suite, on devices: [DeviceDescriptor], tuned: TunedParameters) throws(UsageError) {
        trainingStep = try request.trainingStep()
        if request.measurePeaks { measurePeaks(on: devices, policy: suite.peakPolicy) }
        for slowdown in request.slowdowns {
            log("warning: --debug-slowdown makes '\(slowdown.selector)' \(slowdown.factor)x slower on purpose")
        }
        for fault in request.faults {
            log("warning: --debug-fault injects a '\(fault.kind.rawValue)' fault into '\(fault.selector)' on purpose")
        }
        runCases(
            suite, on: devices, implementations: request.selectedImplementations, tuned: tuned, injections: request.injections,
            caseTimeout: request.caseTimeout)
        if let seconds = request.burnIn {
            burnIn(
                seconds, gemm: try request.burnInCase(), on: devices, implementations: request.selectedImplementations, tuned: tuned,
                caseTimeout: request.caseTimeout)
        }
        if let coreType = request.blasCoreType, devices.contains(where: \.isHost), request.selectedImplementations.contains(.openblas) {
            log("[blas] re-running the host cases with OPENBLAS_CORETYPE=\(coreType)")
            do {
                let (results, warning) = try BLASCoreTypeRerun(coreType: coreType, request: request).run()
                if let warning { log("warning: \(warning)") }
                append(results)
            } catch {
                log("warning: the OPENBLAS_CORETYPE=\(coreType) re-run failed: \(error)")
            }
        }
    }

    /// Keeps each device in turn under `gemm` for `seconds` (one at a time: devices that share the
    /// host's cores would only measure each other), saving each device's record as it ends.
    func burnIn(
        _ seconds: Double, gemm: GEMMCase, on devices: [DeviceDescriptor], implementations: Set<Implementation>, tuned: TunedParameters,
        caseTimeout: Double
    ) {
        let factory = BackendFactory(inventory: inventory, tuned: tuned, warn: log)
        let burnIn = BurnIn(seconds: seconds, gemm: gemm, seed: document.seed, caseTimeout: caseTimeout)
        document.burnIn = []
        for device in devices {
            let implementation: Implementation = device.isHost ? .openblas : .nodebench
            guard implementations.contains(implementation) else { continue }
            log("[burn-in] \(device.id) \(implementation.rawValue) \(gemm) for \(Int(seconds)) s")
            let result: BurnInResult
            do {
                guard let backend = try factory.make(implementation, for: device) as? GEMMBackend else { continue }
                result = burnIn.run(on: backend)
            } catch {
                var unusable = BurnInResult(device: device.id, implementation: implementation.rawValue, workload: gemm.description, seconds: seconds)
                unusable.status = .failed
                unusable.reason = "device unusable: \(Runner.describe(error))"
                result = unusable
            }
            log("  \(result.summary)")
            document.burnIn!.append(result)
            save()
        }
    }

    /// Adds results measured elsewhere (another process, another BLAS core type).
    func append(_ results: [CaseResult]) {
        for result in results {
            document.results.append(result)
            if result.status != .ok { log("  \(result.status.rawValue): \(result.reason ?? "")") }
        }
        save()
    }

    /// Efficiency of every case, findings and the training step's breakdown; marks the run
    /// complete.
    public func finish() throws(CommandFailure) {
        let rooflines = self.rooflines
        for index in document.results.indices {
            document.results[index].efficiency = rooflines[document.results[index].device]?.efficiency(of: document.results[index])
        }
        document.findings = Diagnosis(document).findings + releaseFindings()
        if let trainingStep {
            document.training = Set(document.results.map(\.device)).sorted().map { device in
                TrainingBreakdown(step: trainingStep, device: device, results: document.results, roofline: rooflines[device]!)
            }
        }
        document.complete = true
        document.finishedAt = Timestamp.now()
        save()
        if let writeError {
            throw CommandFailure(status: .ioError, message: "cannot write results to \(url.path): \(writeError.localizedDescription)")
        }
    }

    /// One roofline picture per device with a peak or a timed case, beside the result file and
    /// named in it. Drawn once the results are complete, so a picture that cannot be written costs
    /// no measurement: it is a warning.
    public func drawRooflines() {
        for (device, roofline) in rooflines.sorted(by: { $0.key < $1.key })
        where !roofline.compute.isEmpty || document.results.contains(where: { $0.device == device && $0.gflops != nil }) {
            let figure = url.deletingPathExtension().appendingPathExtension("roofline-\(device.replacingOccurrences(of: ":", with: "-")).svg")
            let name = document.node.devices.first { $0.id == device }?.name ?? device
            let svg = RooflineSVG.render(roofline, deviceName: name, results: document.results.filter { $0.device == device })
            do {
                try OutputFile.write(Data(svg.utf8), to: figure)
                document.figures.append(figure.lastPathComponent)
            } catch {
                log("warning: \(error.message)")
            }
        }
        save()
    }

    /// OpenCL objects the cases left behind that the driver would not release: a warning, since
    /// a driver that loses track of its objects may have lost the device.
    private func releaseFindings() -> [Finding] {
        let failures = ReleaseFailures.drain()
        guard !failures.isEmpty else { return [] }
        log("warning: \(failures.count) OpenCL object(s) could not be released: \(failures[0])")
        return [Finding(
            id: "opencl-release-failed", severity: "warning", device: nil,
            summary: "\(failures.count) OpenCL object(s) could not be released",
            evidence: failures.prefix(3).joined(separator: "; "),
            action: "check the device's health (kernel log, the vendor's tools) before trusting further runs on it")]
    }

    /// OpenCL objects no run has reported as unreleased yet: at the end of a process, the devices'
    /// contexts and queues, released after the results were written.
    public static func unreportedReleaseFailures() -> [String] { ReleaseFailures.drain() }

    private var rooflines: [String: Roofline] {
        Dictionary(uniqueKeysWithValues: Set(document.results.map(\.device) + document.peaks.map(\.device)).map {
            ($0, Roofline(device: $0, peaks: document.peaks, theoretical: document.theoreticalPeaks))
        })
    }

    private func save() {
        do { try file.write(document) } catch { writeError = error }
    }
}

/// "1:05" for 65 seconds.
private func clock(_ seconds: Double) -> String {
    let whole = Int(seconds.rounded())
    return String(format: "%d:%02d", whole / 60, whole % 60)
}
