import Foundation
import OpenCLKit

/// Searches the GEMM kernel's parameters on one OpenCL device: every candidate that fits the
/// device is first verified on an odd shape, then timed on its size class's tuning shape; the
/// fastest correct one wins.
public final class GEMMTuner {
    private let backend: OpenCLGEMMBackend
    private let seed: UInt64

    /// Sets up the device; fails only if the device cannot be used at all.
    public init(device: DeviceDescriptor, inventory: NodeInventory, seed: UInt64 = 42) throws {
        guard let openCLDevice = inventory.openCLDevices[device.id] else {
            throw UsageError("tuning applies to OpenCL devices; \(device.id) is not one (OpenCL devices: "
                + inventory.devices.filter { $0.backend == "opencl" }.map(\.id).joined(separator: ", ") + ")")
        }
        backend = try OpenCLGEMMBackend(device: openCLDevice, descriptor: device)
        self.seed = seed
    }

    /// Candidates in the order they are tried: the device type's default first, then the rest of
    /// the space for that type, each within the device's work-group limit.
    static func searchSpace(isCPU: Bool, dtype: DType, maxWorkGroupSize: Int) -> [GEMMKernelParameters] {
        let widths = isCPU ? (dtype == .fp64 ? [4, 8] : [8, 16]) : [2, 4]
        let rows = isCPU ? [4, 6, 8, 12] : [1, 2, 4, 8]
        let groups = isCPU ? [(1, 1), (2, 2), (4, 1), (1, 4), (4, 4)] : [(8, 8), (16, 8), (16, 16), (32, 8)]
        var space = [GEMMKernelParameters.defaults(isCPU: isCPU, dtype: dtype)]
        for width in widths {
            for tileRows in rows {
                for (columns, groupRows) in groups {
                    let candidate = GEMMKernelParameters(tileRows: tileRows, vectorWidth: width, groupColumns: columns, groupRows: groupRows)
                    if !space.contains(candidate) { space.append(candidate) }
                }
            }
        }
        return space.filter { $0.violation(maxWorkGroupSize: maxWorkGroupSize) == nil }
    }

    public struct Progress: Sendable {
        public var index: Int
        public var total: Int
        public var parameters: GEMMKernelParameters
        /// GFLOP/s on the tuning shape, or why the candidate was dropped.
        public var outcome: Result<Double, CandidateError>
        public var best: Double?
    }

    public struct CandidateError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Tunes one type, layout and size class within `budgetSeconds`; nil if no candidate passed.
    public func tune(
        dtype: DType, layout: GEMMLayout, sizeClass: SizeClass, budgetSeconds: Double, progress: (Progress) -> Void
    ) -> TunedParameters.Entry? {
        let deadline = MonotonicClock.now() + budgetSeconds
        let checkCase = GEMMCase(shape: GEMMShape(m: 67, n: 45, k: 33), layout: layout, dtype: dtype)
        let checkInputs = GEMMInputs(gemm: checkCase, seed: seed)
        let checkReference = GEMMReference(checkInputs)
        let timedCase = GEMMCase(shape: sizeClass.tuningShape, layout: layout, dtype: dtype)
        if backend.unsupportedReason(timedCase) != nil || backend.unsupportedReason(checkCase) != nil { return nil }
        let timedInputs = GEMMInputs(gemm: timedCase, seed: seed)

        let space = Self.searchSpace(
            isCPU: backend.openCLDevice.kind == .cpu, dtype: dtype, maxWorkGroupSize: backend.openCLDevice.maxWorkGroupSize)
        var best: (GEMMKernelParameters, Double)?
        for (index, parameters) in space.enumerated() where MonotonicClock.now() < deadline {
            let outcome = measure(parameters, check: (checkInputs, checkReference), timed: timedInputs, deadline: deadline)
            if case .success(let gflops) = outcome, gflops > (best?.1 ?? 0) { best = (parameters, gflops) }
            progress(Progress(index: index + 1, total: space.count, parameters: parameters, outcome: outcome, best: best?.1))
        }
        guard let (parameters, gflops) = best else { return nil }
        return TunedParameters.Entry(
            device: backend.openCLDevice.name, driver: backend.openCLDevice.driverVersion, dtype: dtype, layout: layout,
            sizeClass: sizeClass, parameters: parameters, gflops: gflops, tunedAt: Timestamp.now())
    }

    /// Verified on the small odd shape, then the best of up to three timed runs.
    private func measure(
        _ parameters: GEMMKernelParameters, check: (GEMMInputs, GEMMReference), timed: GEMMInputs, deadline: Double
    ) -> Result<Double, CandidateError> {
        do {
            let small = try backend.prepare(check.0, parameters: parameters, parameterSource: "candidate")
            _ = try small.execute()
            let verification = check.1.verify(try small.result())
            guard verification.passed else {
                return .failure(CandidateError(description: "wrong result (error \(verification.maxAbsError), tolerance \(verification.tolerance))"))
            }
            let prepared = try backend.prepare(timed, parameters: parameters, parameterSource: "candidate")
            var fastest = Double.infinity
            for _ in 0..<3 {
                fastest = min(fastest, try prepared.execute().kernelSeconds)
                if MonotonicClock.now() > deadline { break }
            }
            return .success(timed.gemm.shape.flops / fastest / 1e9)
        } catch {
            return .failure(CandidateError(description: Runner.describe(error)))
        }
    }
}
