import Foundation
import OpenCLKit

/// Runs a suite's cases on a set of devices: for each case, inputs and reference are made once,
/// then each device prepares, warms up, is verified, and is timed.
public final class Runner {
    public struct Progress: Sendable {
        public var index: Int
        public var total: Int
        public var device: String
        public var implementation: Implementation
        public var gemm: GEMMCase
    }

    /// A device and one implementation's backend on it, or why that backend could not be set up.
    public typealias DeviceBackend = (device: DeviceDescriptor, implementation: Implementation, backend: Result<GEMMBackend, Error>)

    private let suite: Suite
    private let seed: UInt64
    private let backends: [DeviceBackend]
    private let hostMemoryBytes: Double

    public init(suite: Suite, backends: [DeviceBackend], hostMemoryBytes: UInt64, seed: UInt64) {
        self.suite = suite
        self.seed = seed
        self.backends = backends
        self.hostMemoryBytes = Double(hostMemoryBytes)
    }

    /// Runs on these devices of the node, each with its own backend; OpenCL devices use `tuned`
    /// parameters where they have them.
    public convenience init(
        suite: Suite, devices: [DeviceDescriptor], inventory: NodeInventory, seed: UInt64,
        implementations: Set<Implementation> = Set(Implementation.allCases), tuned: TunedParameters = TunedParameters()
    ) {
        let backends = devices.flatMap { device in
            Implementation.allCases.filter { implementations.contains($0) && $0.runs(on: device) }.map { implementation in
                (device, implementation, Result<GEMMBackend, Error> {
                    try Runner.makeBackend(implementation, for: device, inventory, tuned: tuned)
                })
            }
        }
        self.init(suite: suite, backends: backends, hostMemoryBytes: inventory.host.physicalMemoryBytes, seed: seed)
    }

    public var caseCount: Int { suite.cases.count * backends.count }

    /// Runs every case; `onResult` sees each result as soon as it exists, so callers can save it.
    public func run(onStart: (Progress) -> Void, onResult: (CaseResult) -> Void) {
        var index = 0
        for gemm in suite.cases {
            var shared: (inputs: GEMMInputs, reference: GEMMReference)?
            for (device, implementation, backend) in backends {
                index += 1
                onStart(Progress(index: index, total: caseCount, device: device.id, implementation: implementation, gemm: gemm))
                onResult(runCase(gemm, on: device, implementation, backend, shared: &shared))
            }
        }
    }

    private func runCase(
        _ gemm: GEMMCase, on device: DeviceDescriptor, _ implementation: Implementation, _ backendResult: Result<GEMMBackend, Error>,
        shared: inout (inputs: GEMMInputs, reference: GEMMReference)?
    ) -> CaseResult {
        let backend: GEMMBackend
        switch backendResult {
        case .success(let ready): backend = ready
        case .failure(let error):
            return CaseResult(
                gemm: gemm, device: device, implementation: implementation.rawValue, status: .failed,
                reason: "device unusable: \(Runner.describe(error))")
        }
        if let reason = backend.unsupportedReason(gemm) ?? hostMemoryShortfall(gemm, backend: backend) {
            return CaseResult(gemm: gemm, backend: backend, status: .skipped, reason: reason)
        }
        if shared == nil {
            let inputs = GEMMInputs(gemm: gemm, seed: seed)
            shared = (inputs, GEMMReference(inputs))
        }
        let (inputs, reference) = shared!
        var result = CaseResult(gemm: gemm, backend: backend, status: .failed)
        do {
            let prepared = try backend.prepare(inputs)
            result.notes = prepared.notes
            _ = try prepared.execute()
            let verification = reference.verify(try prepared.result())
            result.verification = verification
            guard verification.passed else {
                result.reason = verification.nonFiniteElements > 0
                    ? "\(verification.nonFiniteElements) NaN/Inf elements in the result"
                    : "result differs from the fp64 reference by \(verification.maxAbsError) (tolerance \(verification.tolerance))"
                return result
            }
            let measurement = try Sampler.measure(suite.sampling, prepared.execute)
            result.stats = CaseResult.TimingStats(unit: "s", kernel: measurement.kernel, wall: measurement.wall)
            result.gflops = gemm.shape.flops / measurement.kernel.median / 1e9
            result.status = .ok
        } catch {
            result.reason = Runner.describe(error)
        }
        return result
    }

    /// Why the host cannot hold this case's inputs, reference and (for the host BLAS) working copies.
    private func hostMemoryShortfall(_ gemm: GEMMCase, backend: GEMMBackend) -> String? {
        guard let counts = gemm.elementCounts else { return "shape \(gemm.shape) is too large to address" }
        var bytes = Double(counts.a + counts.b + counts.c) * 8 + GEMMReference.workingBytes(gemm)
        if backend is HostBLASBackend { bytes += HostBLASBackend.workingBytes(gemm) }
        let usable = hostMemoryBytes * 0.8
        guard bytes > usable else { return nil }
        return "needs \(formatBytes(bytes)) of host memory; this host has \(formatBytes(hostMemoryBytes))"
    }

    private static func makeBackend(
        _ implementation: Implementation, for device: DeviceDescriptor, _ inventory: NodeInventory, tuned: TunedParameters
    ) throws -> GEMMBackend {
        if implementation == .openblas { return HostBLASBackend(device: device) }
        guard let openCLDevice = inventory.openCLDevices[device.id] else {
            throw UsageError("no OpenCL device \(device.id)")
        }
        if implementation == .clblast { return try CLBlastGEMMBackend(device: openCLDevice, descriptor: device) }
        let programs = ProgramCache(directory: ProgramCache.defaultDirectory) { warning in
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        return try OpenCLGEMMBackend(device: openCLDevice, descriptor: device, tuned: tuned, programCache: programs)
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? OpenCLError { return error.caseFailureReason }
        return "\(error)"
    }
}
