import Foundation
import OpenCLKit

/// Keeps one device under GEMM load for a while and samples its throughput in intervals: a device
/// that throttles when hot runs a screen's few seconds at full speed, and only a longer load shows
/// the fall. The output is checked at every interval too, since some devices compute wrongly only
/// once hot.
struct BurnIn {
    /// Intervals the load is cut into, so each quarter has enough of them to test the fall.
    static let intervals = 40

    let seconds: Double
    let gemm: GEMMCase
    let seed: UInt64
    /// Longest wait for one execution before the device counts as hung.
    let caseTimeout: Double

    func run(on backend: GEMMBackend) -> BurnInResult {
        let workload = Workload.gemm(gemm)
        var result = BurnInResult(
            device: backend.device.id, implementation: backend.implementation, workload: gemm.description, seconds: seconds)
        if let reason = backend.unsupportedReason(gemm) {
            result.status = .skipped
            result.reason = reason
            return result
        }
        do {
            try WaitLimit.$seconds.withValue(caseTimeout) { try load(backend, workload, into: &result) }
        } catch let timeout as OpenCLTimeout {
            result.status = .timedOut
            result.reason = timeout.description
        } catch {
            result.status = .failed
            result.reason = Runner.describe(error)
        }
        result.judge()
        return result
    }

    private func load(_ backend: GEMMBackend, _ workload: Workload, into result: inout BurnInResult) throws {
        let material = CaseMaterial(workload, seed: seed)
        let kernel = try material.prepare(on: backend)
        _ = try kernel.execute()
        let output = try kernel.result()
        let verification = material.verify(output)
        guard verification.passed else {
            result.status = .failed
            result.reason = "result differs from the fp64 reference by \(verification.maxAbsError) (tolerance \(verification.tolerance))"
            return
        }
        let verified = Repeatability.checksum(output)
        let readsClock = backend.device.type == .cpu
        let start = MonotonicClock.now()
        for index in 1...Self.intervals {
            // Fixed ends, so the checks between intervals do not stretch the load; an interval an
            // execution outlasted has nothing of its own.
            let end = start + seconds * Double(index) / Double(Self.intervals)
            guard MonotonicClock.now() < end else { continue }
            var times: [Double] = []
            repeat {
                times.append(try kernel.execute().kernelSeconds)
            } while MonotonicClock.now() < end
            if Repeatability.checksum(try kernel.result()) != verified { result.outputChanges += 1 }
            result.intervals.append(
                BurnInResult.Interval(
                    elapsedSeconds: MonotonicClock.now() - start, executions: times.count, gflops: gemm.shape.flops / Statistics.median(times) / 1e9,
                    clockMHz: readsClock ? HostCPU.currentClockMHz() : nil))
        }
    }
}
