import Foundation
import HostKernels
import Testing

@testable import NodeBenchKit

/// The probes on the real host and PoCL device: sane figures, not speed goals.
@Suite(.serialized) struct PeakProbeTests {
    static let inventory = BackendTests.inventory

    @Test func probesAreSaneOnEveryDevice() throws {
        let runner = PeakRunner(inventory: Self.inventory, devices: Self.inventory.devices, policy: .quick)
        // Whether a measured peak stays under the theoretical one is a timing, and timings decide no
        // test: the findings report it instead. The theoretical figures themselves are derived.
        #expect(runner.theoreticalPeaks().allSatisfy { $0.gflops > 0 && $0.gflops.isFinite })
        var peaks: [PeakMeasurement] = []
        runner.run(onStart: { _ in }, onMeasurement: { peaks.append($0) })

        for device in Self.inventory.devices {
            let fp32 = try #require(peaks.first { $0.device == device.id && $0.probe == .compute && $0.variant == "fp32" })
            #expect(fp32.status == .ok, "\(device.id): \(fp32.reason ?? "")")
            let bandwidth = peaks.filter { $0.device == device.id && $0.probe == .memoryBandwidth }
            #expect(Set(bandwidth.map(\.variant)).isSuperset(of: ["read", "copy", "triad"]))
        }
        for peak in peaks where peak.status == .ok {
            let value = try #require(peak.value)
            #expect(value.isFinite && value > 0, "\(peak.device) \(peak.probe) \(peak.variant)")
            #expect(peak.stats?.samples.isEmpty == false)
        }
        // OpenCL-only probes ran on the PoCL device.
        #expect(peaks.contains { $0.device == "opencl:0:0" && $0.probe == .transferBandwidth && $0.status == .ok })
        let latency = try #require(peaks.first { $0.device == "opencl:0:0" && $0.probe == .launchLatency })
        #expect(latency.status == .ok && latency.value! < 1e6)
    }

    @Test func unsupportedTypesAreSkippedWithTheReason() throws {
        let host = HostProbes(device: "host", policy: .quick)
        let fp16 = host.compute(.fp16)
        #expect(fp16.status == .skipped && fp16.reason?.contains("fp16") == true && fp16.value == nil)
    }

    @Test func threadsSayWhetherTheyWerePinned() {
        let pinned = PinnedThreads()
        _ = pinned.run { _ in }
        #expect(pinned.description == "\(pinned.count) pinned threads")
        let unpinned = PinnedThreads(binder: nil, cores: [0, 1])
        _ = unpinned.run { _ in }
        #expect(unpinned.description == "2 unpinned threads (hwloc could not load the topology)")
    }

    @Test func theClockLoopReadsARealisticClock() throws {
        let mhz = try #require(HostProbes(device: "host", policy: .quick).allCoreClockMHz())
        #expect((300...7000).contains(mhz))
    }
}

@Suite struct TheoreticalPeakTests {
    static func gpu(units: Int, mhz: Int) -> DeviceDescriptor {
        var device = DeviceDescriptor(hostCPU: "gpu", vendor: "NVIDIA", blasBuild: "", cores: units, memoryBytes: 1)
        device.id = "opencl:0:0"
        device.backend = .opencl
        device.type = .gpu
        device.maxClockMHz = mhz
        device.fp64 = true
        return device
    }

    static let zen4 = HostCPU(
        vendor: "AuthenticAMD", family: 25, modelName: "AMD EPYC", flags: ["avx", "avx2", "avx512_bf16", "avx512f", "fma"],
        clockMHz: 2596, clockSource: "/proc/cpuinfo cpu MHz")

    @Test func h100FromItsComputeCapability() throws {
        // H100 SXM: 132 SMs at 1980 MHz, 128 fp32 lanes each: about 67 TFLOP/s (NVIDIA's figure).
        let peaks = TheoreticalPeaks.openCL(Self.gpu(units: 132, mhz: 1980), cpu: Self.zen4, hostClock: nil, nvidiaComputeCapability: (9, 0))
        let fp32 = try #require(peaks.first { $0.dtype == .fp32 })
        #expect(abs(fp32.gflops - 66_908) < 1)
        #expect(fp32.source.contains("compute capability 9.0"))
        #expect(peaks.first { $0.dtype == .fp64 }?.gflops == fp32.gflops / 2)
    }

    @Test func unknownGPUsGetNoTheoreticalPeak() {
        #expect(TheoreticalPeaks.openCL(Self.gpu(units: 80, mhz: 1500), cpu: Self.zen4, hostClock: nil, nvidiaComputeCapability: nil).isEmpty)
    }

    @Test func hostPeakNamesEveryFactor() throws {
        var host = Self.gpu(units: 2, mhz: 1)
        host.id = "host"
        let peaks = TheoreticalPeaks.host(host, cpu: Self.zen4, cores: 2, clock: (3600, "measured"))
        let fp32 = try #require(peaks.first { $0.dtype == .fp32 })
        #expect(fp32.gflops == 2 * 3.6 * 32)  // Zen 4 runs AVX-512 on two 256-bit FMA pipes
        #expect(fp32.source == "2 cores x 3600 MHz (measured) x 32 fp32 FLOP/cycle (AVX-512 executed on two 256-bit FMA pipes (AMD family 25))")
        var intel = Self.zen4
        intel.vendor = "GenuineIntel"
        #expect(TheoreticalPeaks.host(host, cpu: intel, cores: 2, clock: (3600, "measured")).first?.gflops == 2 * 3.6 * 64)
    }

    @Test func cpuFlagsNameTheRightBLASKernels() {
        #expect(Self.zen4.isaLevel == 3)
        #expect(Self.zen4.suitableBLASCore == "Cooperlake")
        var avx2 = Self.zen4
        avx2.flags = ["avx", "avx2", "fma"]
        #expect(avx2.isaLevel == 2 && avx2.suitableBLASCore == "Zen")
        #expect(HostCPU.isaLevel(ofBLASCore: "Haswell") == 2)
        #expect(HostCPU.isaLevel(ofBLASCore: "SKYLAKEX") == 3)
        #expect(HostCPU.isaLevel(ofBLASCore: "Unknowncore") == nil)
    }

    /// The host kernels run their fused multiply-add clone on every CPU that has one.
    @Test func theHostKernelsRunTheCloneForThisCPU() {
        let flags = HostCPU.current().flags
        #expect(HostKernelClone.fusesMultiplyAdd == (flags.contains("fma") && flags.contains("avx2")))
    }

    @Test func thisHostsCPUIsRead() {
        let cpu = HostCPU.current()
        #expect(!cpu.flags.isEmpty && cpu.flags == cpu.flags.sorted())
        #expect(cpu.vendor != "unknown")
    }
}
