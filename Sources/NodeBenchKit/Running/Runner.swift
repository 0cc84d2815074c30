import Foundation
import OpenCLKit

/// Runs a suite's cases on a set of devices in two phases. First each case is prepared, run once
/// and verified, in suite order: inputs and reference are made once per case, and every device's
/// output is compared with the first device's. Then the verified cases are timed in `repetitions`
/// rounds, each in its own shuffled order, so that a slow phase of the machine touches every case a
/// little instead of one case a lot, and each repetition warms up until its timings are steady.
public final class Runner {
    public struct Progress: Sendable {
        public enum Step: Sendable, Equatable {
            case verify
            case repetition(Int, of: Int)
        }

        public var index: Int
        public var total: Int
        public var device: String
        public var implementation: Implementation
        public var workload: Workload
        public var step: Step
    }

    /// A device and one implementation's backend on it, or why that backend could not be set up.
    public typealias DeviceBackend = (device: DeviceDescriptor, implementation: Implementation, backend: Result<KernelBackend, Error>)

    private let suite: Suite
    private let seed: UInt64
    private let backends: [DeviceBackend]
    private let hostMemoryBytes: Double
    private let injections: DebugInjections
    /// How long one execution of a case may take on an OpenCL device before the device counts as hung.
    private let caseTimeout: Double
    /// Devices that stopped responding, with the case they stopped in; nothing more runs on them.
    private var unresponsive: [String: String] = [:]
    /// Each device's memory copy, timed beside its layer ops, or why it could not be set up.
    private var memoryCopies: [String: Result<MemoryCopy, Error>] = [:]

    /// The default `caseTimeout`: one execution of any suite case takes seconds at most even on a
    /// 2-core CPU device, so this leaves room for large `--shape` or `--seq` cases on slow devices.
    public static let defaultCaseTimeout = 300.0

    public init(
        suite: Suite, backends: [DeviceBackend], hostMemoryBytes: UInt64, seed: UInt64, injections: DebugInjections = DebugInjections(),
        caseTimeout: Double = Runner.defaultCaseTimeout
    ) {
        self.suite = suite
        self.seed = seed
        self.backends = backends
        self.hostMemoryBytes = Double(hostMemoryBytes)
        self.injections = injections
        self.caseTimeout = caseTimeout
    }

    /// Runs on these devices of the node, each with its own backend per implementation the suite's
    /// kernels need; OpenCL GEMM uses `tuned` parameters where it has them. `warn` hears what a
    /// backend can do without (a program cache it cannot use).
    public convenience init(
        suite: Suite, devices: [DeviceDescriptor], inventory: NodeInventory, seed: UInt64,
        implementations: Set<Implementation> = Set(Implementation.allCases), tuned: TunedParameters = TunedParameters(),
        injections: DebugInjections = DebugInjections(), caseTimeout: Double = Runner.defaultCaseTimeout,
        warn: @escaping (String) -> Void
    ) {
        let kernels = Set(suite.workloads.map(\.kernel))
        let backends = devices.flatMap { device in
            Implementation.allCases.filter {
                implementations.contains($0) && kernels.contains($0.kernel) && $0.runs(on: device)
            }.map { implementation in
                (device, implementation, Result<KernelBackend, Error> {
                    try BackendFactory(inventory: inventory, tuned: tuned, warn: warn).make(implementation, for: device)
                })
            }
        }
        self.init(
            suite: suite, backends: backends, hostMemoryBytes: inventory.host.physicalMemoryBytes, seed: seed, injections: injections,
            caseTimeout: caseTimeout)
    }

    public var caseCount: Int {
        suite.workloads.reduce(0) { total, workload in total + backends.filter { $0.implementation.kernel == workload.kernel }.count }
    }

    /// One case on one device: its result so far, and while it is being timed, its prepared kernel.
    private struct Slot {
        var result: CaseResult
        var workload: Workload
        var implementation: Implementation
        var kernel: PreparedKernel?
        var repetitions: [Repetition] = []
        /// Whether every execution gives the verified output again, so each repetition's is checked.
        var repeatsItsOutput = false
        /// A layer op's yardstick: the device's memory copy, timed after each of its repetitions.
        var copy: MemoryCopy?
        var copyRepetitions: [Repetition] = []
    }

    /// Where the run is: steps done and planned, for the progress line.
    private struct Steps {
        var done = 0
        var total: Int
    }

    /// Runs every case; `onResults` sees every result so far, in suite order, after each case's
    /// verification and after each round of timing, so callers can save them.
    public func run(onStart: (Progress) -> Void, onResults: ([CaseResult]) -> Void) {
        var steps = Steps(total: caseCount * (1 + suite.sampling.repetitions))
        var slots = verifyAll(&steps, onStart: onStart, onResults: onResults)
        timeInRounds(&slots, &steps, onStart: onStart, onResults: onResults)
    }

    /// The first phase: every case prepared, run once and verified, in suite order.
    private func verifyAll(_ steps: inout Steps, onStart: (Progress) -> Void, onResults: ([CaseResult]) -> Void) -> [Slot] {
        let rounds = suite.sampling.repetitions
        var slots: [Slot] = []
        // Prepared kernels stay allocated between rounds while they fit in this share of the host.
        var keptBytes = 0.0
        let keepBudget = hostMemoryBytes / 8
        for workload in suite.workloads {
            var material: CaseMaterial?
            var firstOutput: (label: String, values: [Double])?
            for (device, implementation, backend) in backends where implementation.kernel == workload.kernel {
                steps.done += 1
                onStart(Progress(
                    index: steps.done, total: steps.total, device: device.id, implementation: implementation, workload: workload, step: .verify))
                var slot = verifyCase(workload, on: device, implementation, backend, material: &material, firstOutput: &firstOutput)
                let bytes = (try? backend.get()).flatMap { CaseMaterial.hostBytes(workload, backend: $0) } ?? .infinity
                if slot.kernel == nil {
                    steps.total -= rounds
                } else if keptBytes + bytes > keepBudget {
                    // Too large to keep beside the others: its repetitions run now, back to back.
                    slot.result.notes.append("its \(rounds) repetitions ran back to back: too large to keep allocated beside the other cases")
                    for round in 1...rounds {
                        steps.done += 1
                        onStart(Progress(
                            index: steps.done, total: steps.total, device: device.id, implementation: implementation, workload: workload,
                            step: .repetition(round, of: rounds)))
                        time(&slot, round: round)
                    }
                    slot.kernel = nil
                } else {
                    keptBytes += bytes
                }
                slots.append(slot)
                onResults(slots.map(\.result))
            }
        }
        return slots
    }

    /// The second phase: the verified cases timed round after round, each round in its own shuffled
    /// order; rounds a machine-wide disturbance hit are made up for, up to half as many again.
    private func timeInRounds(_ slots: inout [Slot], _ steps: inout Steps, onStart: (Progress) -> Void, onResults: ([CaseResult]) -> Void) {
        let rounds = suite.sampling.repetitions
        var round = 0
        var planned = rounds
        while round < planned {
            round += 1
            var generator = SplitMix64(seed: seed ^ (UInt64(round) &* 0x2545_F491_4F6C_DD1D))
            let timed = slots.indices.filter { slots[$0].kernel != nil }
            for slotIndex in timed.shuffled(using: &generator) {
                steps.done += 1
                let slot = slots[slotIndex]
                onStart(Progress(
                    index: steps.done, total: steps.total, device: slot.result.device, implementation: slot.implementation,
                    workload: slot.workload, step: .repetition(round, of: planned)))
                time(&slots[slotIndex], round: round)
            }
            let quietRounds = markDisturbedRounds(&slots, rounds: round)
            if round == planned && quietRounds < rounds && planned < rounds + rounds / 2 {
                planned += 1
                steps.total += timed.count
            }
            onResults(slots.map(\.result))
        }
    }

    /// Marks the repetitions of disturbed rounds in every case timed in all `rounds` rounds, and
    /// updates their statistics; returns how many rounds were quiet.
    private func markDisturbedRounds(_ slots: inout [Slot], rounds: Int) -> Int {
        let roundCases = slots.indices.filter { slots[$0].kernel != nil && slots[$0].repetitions.count == rounds }
        let disturbed = Disturbance.disturbedRounds(roundCases.map { slots[$0].repetitions.map { Statistics.median($0.kernel) } })
        for slotIndex in roundCases {
            for repetition in slots[slotIndex].repetitions.indices {
                slots[slotIndex].repetitions[repetition].disturbed = disturbed[repetition]
            }
            summarize(&slots[slotIndex])
        }
        return disturbed.filter { !$0 }.count
    }

    /// Prepares, runs once and verifies; the slot keeps the prepared kernel only if it verified.
    private func verifyCase(
        _ workload: Workload, on device: DeviceDescriptor, _ implementation: Implementation,
        _ backendResult: Result<KernelBackend, Error>, material: inout CaseMaterial?,
        firstOutput: inout (label: String, values: [Double])?
    ) -> Slot {
        let backend: KernelBackend
        switch backendResult {
        case .success(let ready): backend = ready
        case .failure(let error):
            let result = CaseResult(
                workload, device: device, implementation: implementation.rawValue, status: .failed,
                reason: "device unusable: \(Runner.describe(error))")
            return Slot(result: result, workload: workload, implementation: implementation)
        }
        var slot = Slot(
            result: CaseResult(workload, device: device, implementation: backend.implementation, status: .failed), workload: workload,
            implementation: implementation)
        let key = CaseKey(slot.result)
        if let reason = CaseMaterial.unsupportedReason(workload, on: backend) ?? hostMemoryShortfall(workload, backend: backend)
            ?? unresponsiveReason(device.id)
        {
            slot.result.status = .skipped
            slot.result.reason = reason
            return slot
        }
        if material == nil { material = CaseMaterial(workload, seed: seed) }
        do {
            try guarded(key) {
                try prepareAndVerify(&slot, key: key, on: backend, material: material!, firstOutput: &firstOutput)
            }
        } catch {
            record(error, in: &slot, during: "verification")
        }
        return slot
    }

    /// Prepares the case and runs it twice: the output must match the reference, and the second
    /// run must reproduce the first bit for bit (a difference small enough to pass the tolerance
    /// is still a device computing wrongly) where the case computes the same output each time.
    /// A verified slot keeps its prepared kernel.
    private func prepareAndVerify(
        _ slot: inout Slot, key: CaseKey, on backend: KernelBackend, material: CaseMaterial, firstOutput: inout (label: String, values: [Double])?
    ) throws {
        var prepared = try material.prepare(on: backend)
        if let slowdown = injections.slowdowns.first(where: { $0.applies(to: key) }) { prepared = slowdown.applied(to: prepared) }
        slot.result.notes = prepared.notes
        _ = try prepared.execute()
        let output = try prepared.result()
        let verification = material.verify(output)
        slot.result.verification = verification
        guard verification.passed else {
            slot.result.reason = verification.nonFiniteElements > 0
                ? "\(verification.nonFiniteElements) NaN/Inf elements in the result"
                : "result differs from the fp64 reference by \(verification.maxAbsError) (tolerance \(verification.tolerance))"
            return
        }
        slot.result.outputChecksum = Repeatability.checksum(output)
        slot.repeatsItsOutput = material.repeatsItsOutput
        if material.repeatsItsOutput {
            _ = try prepared.execute()
            if let difference = Repeatability.difference(output, try prepared.result()) {
                slot.result.reason = difference
                return
            }
        } else {
            slot.result.notes.append("not checked for a bit-identical second execution: with beta != 0 each execution updates C")
        }
        if let firstOutput {
            let difference = zip(firstOutput.values, output).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
            slot.result.crossCheck = CaseResult.CrossCheck(against: firstOutput.label, maxAbsDifference: difference)
        } else {
            firstOutput = ("\(key.device)/\(key.implementation)", output)
        }
        slot.result.status = .verified
        slot.kernel = prepared
        if case .layer = slot.workload, let backend = backend as? LayerOpBackend {
            switch memoryCopy(on: backend) {
            case .success(let copy): slot.copy = copy
            case .failure(let error): slot.result.notes.append("no memory copy timed beside it: \(Runner.describe(error))")
            }
        }
    }

    /// The device's memory copy, made at its first layer op, as large as the suite's largest layer op.
    private func memoryCopy(on backend: LayerOpBackend) -> Result<MemoryCopy, Error> {
        if let made = memoryCopies[backend.device.id] { return made }
        let largest = suite.workloads.compactMap { workload -> Double? in
            if case .layer(let layerOp) = workload { layerOp.minimumTrafficBytes } else { nil }
        }.max() ?? 0
        let made = Result { try WaitLimit.$seconds.withValue(caseTimeout) { try backend.prepareCopy(bytesMoved: largest) } }
        memoryCopies[backend.device.id] = made
        return made
    }

    /// One more repetition of a verified case; a failure ends the case, keeping what it measured.
    private func time(_ slot: inout Slot, round: Int) {
        guard let kernel = slot.kernel else { return }
        if let reason = unresponsiveReason(slot.result.device) {
            slot.kernel = nil
            if slot.repetitions.isEmpty {
                slot.result.reason = "not timed: \(reason)"
            } else {
                slot.result.notes.append("timed \(slot.repetitions.count) times, not more: \(reason)")
            }
            return
        }
        do {
            var repetition = try guarded(CaseKey(slot.result)) { try Sampler.measure(suite.sampling, kernel.execute) }
            repetition.round = round
            slot.repetitions.append(repetition)
            timeCopy(&slot, round: round)
            summarize(&slot)
            if slot.repeatsItsOutput, let verified = slot.result.outputChecksum {
                let checksum = try guarded(CaseKey(slot.result)) { try kernel.outputFingerprint() }
                guard checksum == verified else {
                    slot.kernel = nil
                    slot.result.status = .failed
                    slot.result.gflops = nil
                    slot.result.reason = "repetition \(slot.repetitions.count): the output's checksum is \(checksum), the verified output's "
                        + "\(verified): the device does not compute reproducibly"
                    return
                }
            }
        } catch {
            slot.result.gflops = nil
            record(error, in: &slot, during: "repetition \(slot.repetitions.count + 1)")
        }
    }

    /// The layer op's memory copy right after its repetition; a copy that fails is dropped, the op kept.
    private func timeCopy(_ slot: inout Slot, round: Int) {
        guard let copy = slot.copy else { return }
        do {
            var repetition = try WaitLimit.$seconds.withValue(caseTimeout) { try Sampler.measure(suite.sampling, copy.execute) }
            repetition.round = round
            slot.copyRepetitions.append(repetition)
        } catch {
            slot.copy = nil
            slot.result.notes.append("the memory copy beside it failed: \(Runner.describe(error))")
        }
    }

    /// Runs a case's work under the case timeout and any fault planned for it.
    private func guarded<T>(_ key: CaseKey, _ work: () throws -> T) throws -> T {
        let plan = injections.faults.first { $0.applies(to: key) }.map { FaultInjection($0.kind) }
        return try WaitLimit.$seconds.withValue(caseTimeout) {
            try FaultInjection.$active.withValue(plan, operation: work)
        }
    }

    /// Ends the case with the error; a device that timed out is not used again in this run.
    private func record(_ error: Error, in slot: inout Slot, during step: String) {
        slot.kernel = nil
        slot.result.status = error is OpenCLTimeout ? .timedOut : .failed
        slot.result.reason = "\(step): \(Runner.describe(error))"
        if error is OpenCLTimeout { unresponsive[slot.result.device] = CaseKey(slot.result).description }
    }

    private func unresponsiveReason(_ device: String) -> String? {
        unresponsive[device].map { "\(device) stopped responding during \($0)" }
    }

    /// The slot's result from its repetitions so far.
    private func summarize(_ slot: inout Slot) {
        guard slot.result.reason == nil, let stats = CaseResult.TimingStats(slot.repetitions) else { return }
        slot.result.stats = stats
        guard stats.kernel.median > 0 else {
            slot.result.status = .failed
            slot.result.reason = "the device reported 0 s for most executions: its timer is too coarse for this case"
            slot.kernel = nil
            return
        }
        slot.result.gflops = slot.workload.flops / stats.kernel.median / 1e9
        slot.result.status = .ok
        if let stages = slot.kernel?.stages, !stages.isEmpty { slot.result.stages = stages }
        if let copy = slot.copy {
            let disturbed = Set(slot.repetitions.filter(\.disturbed).map(\.round))
            slot.result.adjacentCopyGBs = AdjacentCopy.gigabytesPerSecond(
                bytesMoved: copy.bytesMoved, repetitions: slot.copyRepetitions, disturbedRounds: disturbed)
        }
    }

    /// Why the host cannot hold this case's inputs, reference, two outputs for the cross-check and
    /// the backend's working copies.
    private func hostMemoryShortfall(_ workload: Workload, backend: KernelBackend) -> String? {
        guard let bytes = CaseMaterial.hostBytes(workload, backend: backend) else {
            return "\(workload) is too large to address"
        }
        guard bytes > hostMemoryBytes * 0.8 else { return nil }
        return "needs \(formatBytes(bytes)) of host memory; this host has \(formatBytes(hostMemoryBytes))"
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? OpenCLError { return error.caseFailureReason }
        return "\(error)"
    }
}

/// What every device's run of one case shares: the seeded inputs and the fp64 reference.
enum CaseMaterial {
    case gemm(GEMMInputs, GEMMReference)
    case attention(AttentionInputs, AttentionReference)
    case attentionBackward(AttentionInputs, AttentionGradientReference)
    case layer(LayerOpInputs, LayerOpReference)

    init(_ workload: Workload, seed: UInt64) {
        switch workload {
        case .gemm(let gemm):
            let inputs = GEMMInputs(gemm: gemm, seed: seed)
            self = .gemm(inputs, GEMMReference(inputs))
        case .attention(let attention) where attention.pass == .backward:
            let inputs = AttentionInputs(attention: attention, seed: seed)
            self = .attentionBackward(inputs, AttentionGradientReference(inputs))
        case .attention(let attention):
            let inputs = AttentionInputs(attention: attention, seed: seed)
            self = .attention(inputs, AttentionReference(inputs))
        case .layer(let layerOp):
            let inputs = LayerOpInputs(layerOp: layerOp, seed: seed)
            self = .layer(inputs, LayerOpReference(inputs))
        }
    }

    static func unsupportedReason(_ workload: Workload, on backend: KernelBackend) -> String? {
        switch workload {
        case .gemm(let gemm): (backend as? GEMMBackend)?.unsupportedReason(gemm)
        case .attention(let attention): (backend as? AttentionBackend)?.unsupportedReason(attention)
        case .layer(let layerOp): (backend as? LayerOpBackend)?.unsupportedReason(layerOp)
        }
    }

    func prepare(on backend: KernelBackend) throws -> PreparedKernel {
        switch self {
        case .gemm(let inputs, _):
            guard let backend = backend as? GEMMBackend else { throw UsageError("\(backend.implementation) does not run GEMM") }
            return try backend.prepare(inputs)
        case .attention(let inputs, _), .attentionBackward(let inputs, _):
            guard let backend = backend as? AttentionBackend else { throw UsageError("\(backend.implementation) does not run attention") }
            return try backend.prepare(inputs)
        case .layer(let inputs, _):
            guard let backend = backend as? LayerOpBackend else { throw UsageError("\(backend.implementation) does not run layer ops") }
            return try backend.prepare(inputs)
        }
    }

    /// Whether a second execution must give the first one's output: not when it reads C back.
    var repeatsItsOutput: Bool {
        switch self {
        case .gemm(let inputs, _): inputs.gemm.beta == 0
        case .attention, .attentionBackward, .layer: true
        }
    }

    func verify(_ output: [Double]) -> Verification {
        switch self {
        case .gemm(_, let reference): reference.verify(output)
        case .attention(_, let reference): reference.verify(output)
        case .attentionBackward(_, let reference): reference.verify(output)
        case .layer(_, let reference): reference.verify(output)
        }
    }

    /// Host bytes the case needs on `backend`; nil when its sizes overflow.
    static func hostBytes(_ workload: Workload, backend: KernelBackend) -> Double? {
        switch workload {
        case .gemm(let gemm):
            guard let counts = gemm.elementCounts else { return nil }
            let working = backend is HostBLASBackend ? HostBLASBackend.workingBytes(gemm) : 0
            return Double(counts.a + counts.b + 3 * counts.c) * 8 + GEMMReference.workingBytes(gemm) + working
        case .attention(let attention):
            let shape = attention.shape
            let working = (backend as? HostAttentionBackend)?.workingBytes(attention) ?? 0
            let reference = attention.pass == .backward ? AttentionGradientReference.workingBytes(attention) : AttentionReference.workingBytes(attention)
            // Q, K, V (and dO), then the output as read back and widened.
            let inputs = 2 * shape.keyElements + shape.queryElements * (attention.pass == .backward ? 2 : 1)
            return Double(inputs + 2 * attention.outputElements) * 8 + reference + working
        case .layer(let layerOp):
            let working = backend is HostLayerOpBackend ? HostLayerOpBackend.workingBytes(layerOp) : 0
            // Up to three input tensors, then the output as read back and widened.
            return Double(3 * layerOp.elements + 2 * layerOp.outputElements) * 8 + LayerOpReference.workingBytes(layerOp) + working
        }
    }
}
