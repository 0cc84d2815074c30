/// Peaks derived from the hardware's description: cores x clock x FLOP per cycle. Each carries the
/// source of every factor; where a factor cannot be known, there is no theoretical peak.
enum TheoreticalPeaks {
    /// A clock rate and where it came from.
    typealias Clock = (mhz: Double, source: String)

    /// The measured all-core clock if there is one, else what /proc/cpuinfo or cpufreq says.
    static func hostClock(measuredMHz: Double?, cpu: HostCPU) -> Clock? {
        if let measuredMHz { return (measuredMHz, "all-core clock measured by a dependent-add loop") }
        guard let mhz = cpu.clockMHz, let source = cpu.clockSource else { return nil }
        return (mhz, source)
    }

    static func host(_ device: DeviceDescriptor, cpu: HostCPU, cores: Int, clock: Clock?) -> [TheoreticalPeak] {
        guard let (clock, clockSource) = clock else { return [] }
        let (perCycle, why) = cpu.fp32FlopsPerCycle
        let base = "\(cores) cores x \(Int(clock.rounded())) MHz (\(clockSource))"
        let fp32 = Double(cores) * clock * 1e-3 * perCycle
        return [
            TheoreticalPeak(device: device.id, dtype: .fp32, gflops: fp32, source: "\(base) x \(Int(perCycle)) fp32 FLOP/cycle (\(why))"),
            TheoreticalPeak(device: device.id, dtype: .fp64, gflops: fp32 / 2, source: "\(base) x \(Int(perCycle / 2)) fp64 FLOP/cycle (\(why))"),
        ]
    }

    /// OpenCL CPU devices run on the host's cores: the host's per-cycle width at the device's clock.
    /// GPUs: lanes per compute unit from the vendor's published figures, where the device says enough.
    /// CPU devices run at the host's clock (`hostClock`), GPUs at the clock the driver reports.
    static func openCL(_ device: DeviceDescriptor, cpu: HostCPU, hostClock: Clock?, nvidiaComputeCapability: (Int, Int)?) -> [TheoreticalPeak] {
        guard let units = device.computeUnits, let reported = device.maxClockMHz, units > 0, reported > 0 else { return [] }
        let clock: Clock = device.type == .cpu ? hostClock ?? (Double(reported), "CL_DEVICE_MAX_CLOCK_FREQUENCY")
            : (Double(reported), "CL_DEVICE_MAX_CLOCK_FREQUENCY")
        let base = "\(units) compute units x \(Int(clock.mhz.rounded())) MHz (\(clock.source))"
        var peaks: [TheoreticalPeak] = []
        func add(_ dtype: DType, _ perUnitPerCycle: Double, _ why: String) {
            peaks.append(
                TheoreticalPeak(
                    device: device.id, dtype: dtype, gflops: Double(units) * clock.mhz * 1e-3 * perUnitPerCycle,
                    source: "\(base) x \(Int(perUnitPerCycle)) \(dtype.rawValue) FLOP/cycle (\(why))"))
        }
        switch device.type {
        case .cpu:
            let (perCycle, why) = cpu.fp32FlopsPerCycle
            add(.fp32, perCycle, why)
            if device.fp64 { add(.fp64, perCycle / 2, why) }
        case .gpu:
            guard let (major, minor) = nvidiaComputeCapability, let lanes = nvidiaFP32Lanes(major: major, minor: minor) else { break }
            let why = "\(lanes) fp32 lanes per SM, NVIDIA compute capability \(major).\(minor)"
            add(.fp32, Double(lanes * 2), why)
            if let ratio = nvidiaFP64Ratio(major: major, minor: minor) {
                add(.fp64, Double(lanes * 2) * ratio, "\(why), fp64 at 1/\(Int(1 / ratio)) rate")
            }
        default:
            break
        }
        return peaks
    }

    /// FP32 lanes per streaming multiprocessor, from NVIDIA's architecture whitepapers.
    static func nvidiaFP32Lanes(major: Int, minor: Int) -> Int? {
        switch (major, minor) {
        case (6, 0), (7, _), (8, 0): 64
        case (6, 1), (6, 2), (8, 6), (8, 7), (8, 9), (9, 0), (10, _), (12, _): 128
        default: nil
        }
    }

    static func nvidiaFP64Ratio(major: Int, minor: Int) -> Double? {
        switch (major, minor) {
        case (6, 0), (7, 0), (8, 0), (9, 0): 0.5
        case (6, 1), (6, 2), (7, 5): 1.0 / 32
        case (8, 6), (8, 7), (8, 9), (12, _): 1.0 / 64
        default: nil
        }
    }
}
