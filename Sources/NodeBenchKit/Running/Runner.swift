import Foundation
import OpenCLKit

/// Runs a suite's cases on a set of devices: for each case, inputs and reference are made once,
/// then each device prepares, runs once, is verified, and is timed; its output is compared with
/// the first device's.
public final class Runner {
    public struct Progress: Sendable {
        public var index: Int
        public var total: Int
        public var device: String
        public var implementation: Implementation
        public var workload: Workload
    }

    /// A device and one implementation's backend on it, or why that backend could not be set up.
    public typealias DeviceBackend = (device: DeviceDescriptor, implementation: Implementation, backend: Result<KernelBackend, Error>)

    private let suite: Suite
    private let seed: UInt64
    private let backends: [DeviceBackend]
    private let hostMemoryBytes: Double
    private let slowdown: InjectedSlowdown?

    public init(suite: Suite, backends: [DeviceBackend], hostMemoryBytes: UInt64, seed: UInt64, slowdown: InjectedSlowdown? = nil) {
        self.suite = suite
        self.seed = seed
        self.backends = backends
        self.hostMemoryBytes = Double(hostMemoryBytes)
        self.slowdown = slowdown
    }

    /// Runs on these devices of the node, each with its own backend per implementation the suite's
    /// kernels need; OpenCL GEMM uses `tuned` parameters where it has them.
    public convenience init(
        suite: Suite, devices: [DeviceDescriptor], inventory: NodeInventory, seed: UInt64,
        implementations: Set<Implementation> = Set(Implementation.allCases), tuned: TunedParameters = TunedParameters(),
        slowdown: InjectedSlowdown? = nil
    ) {
        let kernels = Set(suite.workloads.map(\.kernel))
        let backends = devices.flatMap { device in
            Implementation.allCases.filter {
                implementations.contains($0) && kernels.contains($0.kernel) && $0.runs(on: device)
            }.map { implementation in
                (device, implementation, Result<KernelBackend, Error> {
                    try BackendFactory(inventory: inventory, tuned: tuned).make(implementation, for: device)
                })
            }
        }
        self.init(suite: suite, backends: backends, hostMemoryBytes: inventory.host.physicalMemoryBytes, seed: seed, slowdown: slowdown)
    }

    public var caseCount: Int {
        suite.workloads.reduce(0) { total, workload in total + backends.filter { $0.implementation.kernel == workload.kernel }.count }
    }

    /// Runs every case; `onResult` sees each result as soon as it exists, so callers can save it.
    public func run(onStart: (Progress) -> Void, onResult: (CaseResult) -> Void) {
        var index = 0
        let total = caseCount
        for workload in suite.workloads {
            var material: CaseMaterial?
            var firstOutput: (label: String, values: [Double])?
            for (device, implementation, backend) in backends where implementation.kernel == workload.kernel {
                index += 1
                onStart(Progress(index: index, total: total, device: device.id, implementation: implementation, workload: workload))
                onResult(runCase(workload, on: device, implementation, backend, material: &material, firstOutput: &firstOutput))
            }
        }
    }

    private func runCase(
        _ workload: Workload, on device: DeviceDescriptor, _ implementation: Implementation,
        _ backendResult: Result<KernelBackend, Error>, material: inout CaseMaterial?,
        firstOutput: inout (label: String, values: [Double])?
    ) -> CaseResult {
        let backend: KernelBackend
        switch backendResult {
        case .success(let ready): backend = ready
        case .failure(let error):
            return CaseResult(
                workload, device: device, implementation: implementation.rawValue, status: .failed,
                reason: "device unusable: \(Runner.describe(error))")
        }
        var result = CaseResult(workload, device: device, implementation: backend.implementation, status: .failed)
        if let reason = CaseMaterial.unsupportedReason(workload, on: backend) ?? hostMemoryShortfall(workload, backend: backend) {
            result.status = .skipped
            result.reason = reason
            return result
        }
        if material == nil { material = CaseMaterial(workload, seed: seed) }
        do {
            var prepared = try material!.prepare(on: backend)
            if let slowdown, slowdown.implementation == implementation { prepared = slowdown.applied(to: prepared) }
            result.notes = prepared.notes
            _ = try prepared.execute()
            let output = try prepared.result()
            let verification = material!.verify(output)
            result.verification = verification
            guard verification.passed else {
                result.reason = verification.nonFiniteElements > 0
                    ? "\(verification.nonFiniteElements) NaN/Inf elements in the result"
                    : "result differs from the fp64 reference by \(verification.maxAbsError) (tolerance \(verification.tolerance))"
                return result
            }
            if let firstOutput {
                let difference = zip(firstOutput.values, output).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
                result.crossCheck = CaseResult.CrossCheck(against: firstOutput.label, maxAbsDifference: difference)
            } else {
                firstOutput = ("\(device.id)/\(backend.implementation)", output)
            }
            let measurement = try Sampler.measure(suite.sampling, prepared.execute)
            result.stats = CaseResult.TimingStats(unit: "s", kernel: measurement.kernel, wall: measurement.wall)
            result.gflops = workload.flops / measurement.kernel.median / 1e9
            result.status = .ok
        } catch {
            result.reason = Runner.describe(error)
        }
        return result
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
private enum CaseMaterial {
    case gemm(GEMMInputs, GEMMReference)
    case attention(AttentionInputs, AttentionReference)

    init(_ workload: Workload, seed: UInt64) {
        switch workload {
        case .gemm(let gemm):
            let inputs = GEMMInputs(gemm: gemm, seed: seed)
            self = .gemm(inputs, GEMMReference(inputs))
        case .attention(let attention):
            let inputs = AttentionInputs(attention: attention, seed: seed)
            self = .attention(inputs, AttentionReference(inputs))
        }
    }

    static func unsupportedReason(_ workload: Workload, on backend: KernelBackend) -> String? {
        switch workload {
        case .gemm(let gemm): (backend as? GEMMBackend)?.unsupportedReason(gemm)
        case .attention(let attention): (backend as? AttentionBackend)?.unsupportedReason(attention)
        }
    }

    func prepare(on backend: KernelBackend) throws -> PreparedKernel {
        switch self {
        case .gemm(let inputs, _):
            guard let backend = backend as? GEMMBackend else { throw UsageError("\(backend.implementation) does not run GEMM") }
            return try backend.prepare(inputs)
        case .attention(let inputs, _):
            guard let backend = backend as? AttentionBackend else { throw UsageError("\(backend.implementation) does not run attention") }
            return try backend.prepare(inputs)
        }
    }

    func verify(_ output: [Double]) -> Verification {
        switch self {
        case .gemm(_, let reference): reference.verify(output)
        case .attention(_, let reference): reference.verify(output)
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
            return Double(3 * shape.queryElements + 2 * shape.keyElements) * 8 + AttentionReference.workingBytes(attention) + working
        }
    }
}
