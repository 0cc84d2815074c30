import Foundation
import HostKernels

/// What the host CPU says of itself in /proc/cpuinfo: the facts a theoretical peak and the BLAS
/// kernel check need; and which build of NodeBench's host kernels runs on it.
public struct HostCPU: Codable, Sendable, Equatable {
    public var vendor: String
    public var family: Int?
    public var modelName: String
    /// Sorted, so result files are stable.
    public var flags: [String]
    /// Clock in MHz and where it was read.
    public var clockMHz: Double?
    public var clockSource: String?
    /// Whether the build of the host's C kernels picked for this CPU fuses multiply-adds (their
    /// AVX2 and AVX-512 builds do, the baseline SSE2 one does not); nil in files written before
    /// it was recorded.
    public var kernelsFuseMultiplyAdd: Bool?

    public static func current() -> HostCPU {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n") {
            if line.isEmpty { break }  // the first processor's block is enough
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        var clock: Double?
        var clockSource: String?
        if let maximum = try? String(contentsOfFile: "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", encoding: .utf8),
            let kHz = Double(maximum.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            clock = kHz / 1000
            clockSource = "cpufreq cpuinfo_max_freq"
        } else if let mhz = fields["cpu MHz"].flatMap(Double.init) {
            clock = mhz
            clockSource = "/proc/cpuinfo cpu MHz"
        }
        return HostCPU(
            vendor: fields["vendor_id"] ?? "unknown", family: fields["cpu family"].flatMap { Int($0) },
            modelName: fields["model name"] ?? "unknown", flags: (fields["flags"] ?? "").split(separator: " ").map(String.init).sorted(),
            clockMHz: clock, clockSource: clockSource, kernelsFuseMultiplyAdd: HostKernelClone.fusesMultiplyAdd)
    }

    /// The mean current clock over the CPUs, in MHz: the kernel's cpufreq where it has one, else
    /// /proc/cpuinfo (which a virtual machine may fix at its nominal clock); nil with neither.
    public static func currentClockMHz() -> Double? {
        let cpus = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/devices/system/cpu")) ?? []
        let kHz = cpus.filter { $0.hasPrefix("cpu") && Int($0.dropFirst(3)) != nil }.compactMap { cpu in
            (try? String(contentsOfFile: "/sys/devices/system/cpu/\(cpu)/cpufreq/scaling_cur_freq", encoding: .utf8))
                .flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        if !kHz.isEmpty { return kHz.reduce(0, +) / Double(kHz.count) / 1000 }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let mhz = cpuinfo.split(separator: "\n").filter { $0.hasPrefix("cpu MHz") }.compactMap {
            $0.split(separator: ":").last.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        }
        return mhz.isEmpty ? nil : mhz.reduce(0, +) / Double(mhz.count)
    }

    /// The widest vector ISA level: 3 AVX-512, 2 AVX2+FMA, 1 AVX, 0 SSE or less.
    public var isaLevel: Int {
        if flags.contains("avx512f") { return 3 }
        if flags.contains("avx2") && flags.contains("fma") { return 2 }
        if flags.contains("avx") { return 1 }
        return 0
    }

    /// The build of the host's C kernels that runs: the clone for the CPU's widest ISA when a fused
    /// multiply-add shows it is not the baseline (the loader picks by the same flags); nil unknown.
    public var kernelBuild: String? {
        kernelsFuseMultiplyAdd.map { $0 ? "\(HostCPU.isaName(level: max(isaLevel, 2))) build" : "baseline SSE2 build" }
    }

    /// fp32 FLOP per cycle per core with fused multiply-add, and why.
    public var fp32FlopsPerCycle: (Double, String) {
        switch isaLevel {
        case 3 where vendor == "AuthenticAMD" && (family ?? 0) < 0x1A:
            return (32, "AVX-512 executed on two 256-bit FMA pipes (AMD family \(family ?? 0))")
        case 3: return (64, "AVX-512 on two 512-bit FMA units")
        case 2: return (32, "AVX2 on two 256-bit FMA units")
        case 1: return (16, "AVX: one 256-bit add and one multiply per cycle")
        default: return (8, "SSE: 128-bit add and multiply")
        }
    }

    /// The OpenBLAS kernel family this CPU should get, by the names OPENBLAS_CORETYPE accepts.
    public var suitableBLASCore: String {
        switch isaLevel {
        case 3: flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        case 2: vendor == "AuthenticAMD" ? "Zen" : "Haswell"
        case 1: "Sandybridge"
        default: "Nehalem"
        }
    }

    /// The ISA level of an OpenBLAS core name (as `openblas_get_corename` reports it), if known.
    public static func isaLevel(ofBLASCore name: String) -> Int? {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": 3
        case "haswell", "zen", "excavator", "skylake": 2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": 1
        case "nehalem", "core2", "penryn", "dunnington", "atom", "barcelona", "opteron", "prescott", "katmai": 0
        default: nil
        }
    }
}
