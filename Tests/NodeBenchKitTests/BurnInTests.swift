import Foundation
import Testing

@testable import NodeBenchKit

/// The burn-in's verdict on synthetic throughput series with known falls, and the burn-in itself
/// on the real OpenBLAS and PoCL devices.
@Suite struct BurnInTests {
    /// 40 intervals at `gflops`, each noised `noise` (log-normal), multiplied by `shape(fraction of the load done)`.
    static func series(noise: Double, seed: UInt64, shape: (Double) -> Double) -> BurnInResult {
        var generator = SplitMix64(seed: seed)
        var result = BurnInResult(device: "opencl:0:0", implementation: "nodebench", workload: "gemm fp32 NN 2048x2048x2048", seconds: 40)
        result.intervals = (0..<BurnIn.intervals).map { index in
            let gflops = 1000 * shape(Double(index) / Double(BurnIn.intervals)) * exp(noise * FleetSimulation.normal(&generator))
            return BurnInResult.Interval(elapsedSeconds: Double(index + 1), executions: 10, gflops: gflops, clockMHz: nil)
        }
        result.judge()
        return result
    }

    @Test(arguments: 1...20 as ClosedRange<UInt64>)
    func aSteadyDeviceIsNotThrottling(seed: UInt64) throws {
        let steady = Self.series(noise: 0.02, seed: seed) { _ in 1 }
        #expect(!steady.throttling)
        #expect(abs(try #require(steady.fall)) < 0.05)
    }

    @Test(arguments: 1...20 as ClosedRange<UInt64>)
    func aDeviceThatSlowsAsItHeatsIsThrottling(seed: UInt64) throws {
        // Full speed for the first third, then down to 75% by the end.
        let hot = Self.series(noise: 0.02, seed: seed) { done in done < 0.33 ? 1 : 1 - 0.25 * (done - 0.33) / 0.67 }
        #expect(hot.throttling)
        #expect(try #require(hot.p) < 1e-4)
        #expect(try #require(hot.fall) > 0.15)
        #expect(hot.summary.hasSuffix(": throttling"))
    }

    @Test func aSmallFallIsNotThrottlingHoweverSure() {
        let slight = Self.series(noise: 0.001, seed: 1) { done in 1 - 0.05 * done }
        #expect(!slight.throttling && slight.p! < 1e-6)
    }

    @Test func tooFewIntervalsJudgeNothing() {
        var short = Self.series(noise: 0.02, seed: 1) { done in done < 0.5 ? 1 : 0.5 }
        short.intervals = Array(short.intervals.prefix(12))
        short.fall = nil
        short.p = nil
        short.throttling = false
        short.judge()
        #expect(short.fall == nil && !short.throttling)
    }

    /// A short real burn-in on every device: verified, every interval timed, the output unchanged.
    @Test func aShortBurnInRunsOnEveryDevice() throws {
        let inventory = BackendTests.inventory
        let factory = BackendFactory(inventory: inventory, tuned: TunedParameters()) { _ in }
        let burnIn = BurnIn(seconds: 1, gemm: GEMMCase(shape: GEMMShape(m: 64, n: 64, k: 64), layout: .nn, dtype: .fp32), seed: 42, caseTimeout: 60)
        for device in inventory.devices {
            let backend = try #require(try factory.make(device.isHost ? .openblas : .nodebench, for: device) as? GEMMBackend)
            let result = burnIn.run(on: backend)
            #expect(result.status == .ok, "\(result.summary)")
            // An interval is lost only to an execution that outlasts it: on a machine stalled for seconds
            // most are, so the count is bounded, not fixed, and the verdict needs 4 in each quarter.
            #expect(!result.intervals.isEmpty && result.intervals.count <= BurnIn.intervals, "\(result.intervals.count) intervals")
            #expect(result.intervals.allSatisfy { $0.executions >= 1 && $0.gflops > 0 })
            #expect(result.outputChanges == 0)
            #expect((result.fall != nil) == (result.intervals.count >= 16))
            if device.type == .cpu { #expect(result.intervals.allSatisfy { $0.clockMHz ?? 0 > 0 } || HostCPU.currentClockMHz() == nil) }
        }
    }
}
