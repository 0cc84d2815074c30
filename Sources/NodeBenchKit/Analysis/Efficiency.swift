/// How a case compares with what its device can do.
public struct Efficiency: Codable, Sendable, Equatable {
    /// FLOP per byte of the least traffic the case needs: each operand read once, C written once.
    public var arithmeticIntensity: Double
    /// The device's compute peak for the case's accumulation type.
    public var peakGflops: Double?
    /// `measured` (a peak probe) or `theoretical`.
    public var peakSource: String?
    public var percentOfPeak: Double?
    /// The roofline's bound: min(peak, intensity x bandwidth).
    public var attainableGflops: Double?
    public var boundBy: String?
    /// Above 105% of the measured peak: the case's timing or the probe is wrong, not the kernel fast.
    public var measurementError: Bool
    /// Layer ops only, which memory bandwidth bounds: the least traffic over the median time, and
    /// that as a share of the device's measured copy bandwidth (the peak probe's best sample) and
    /// of the memory copy timed beside the op (`CaseResult.adjacentCopyGBs`).
    public var achievedGBs: Double?
    public var percentOfCopyBandwidth: Double?
    public var percentOfAdjacentCopy: Double?
}

/// A device's measured roofs: compute per type, and memory bandwidth.
public struct Roofline: Sendable, Equatable {
    public var device: String
    public var compute: [DType: (gflops: Double, source: String)]
    public var bandwidthGBs: Double?
    /// The copy probe's figure: what a one-pass op that reads and writes can hope for.
    public var copyBandwidthGBs: Double?

    public static func == (lhs: Roofline, rhs: Roofline) -> Bool {
        lhs.device == rhs.device && lhs.bandwidthGBs == rhs.bandwidthGBs && lhs.copyBandwidthGBs == rhs.copyBandwidthGBs
            && lhs.compute.mapValues(\.gflops) == rhs.compute.mapValues(\.gflops)
    }

    /// Measured peaks where they exist, theoretical ones otherwise; the best memory bandwidth probe.
    public init(device: String, peaks: [PeakMeasurement], theoretical: [TheoreticalPeak]) {
        self.device = device
        var compute: [DType: (Double, String)] = [:]
        for roof in theoretical where roof.device == device { compute[roof.dtype] = (roof.gflops, "theoretical") }
        for peak in peaks where peak.device == device && peak.probe == .compute {
            if let value = peak.value, let dtype = DType(rawValue: peak.variant) { compute[dtype] = (value, "measured") }
        }
        self.compute = compute
        let bandwidth = peaks.filter { $0.device == device && $0.probe == .memoryBandwidth }
        bandwidthGBs = bandwidth.compactMap(\.value).max()
        copyBandwidthGBs = bandwidth.first { $0.variant == "copy" }?.value
    }

    public func efficiency(of result: CaseResult) -> Efficiency {
        let intensity = result.flops / result.minimumTrafficBytes
        var efficiency = Efficiency(arithmeticIntensity: intensity, measurementError: false)
        if result.kernel == .layer, let seconds = result.stats?.kernel.median, result.status == .ok {
            let achieved = result.minimumTrafficBytes / seconds / 1e9
            efficiency.achievedGBs = achieved
            efficiency.percentOfCopyBandwidth = copyBandwidthGBs.map { achieved / $0 * 100 }
            efficiency.percentOfAdjacentCopy = result.adjacentCopyGBs.map { achieved / $0 * 100 }
        }
        guard let roof = compute[result.accumulationType] else { return efficiency }
        efficiency.peakGflops = roof.gflops
        efficiency.peakSource = roof.source
        if let bandwidthGBs {
            let memoryBound = intensity * bandwidthGBs
            efficiency.attainableGflops = min(roof.gflops, memoryBound)
            efficiency.boundBy = memoryBound < roof.gflops ? "memory" : "compute"
        }
        if let gflops = result.gflops {
            let percent = gflops / roof.gflops * 100
            efficiency.percentOfPeak = percent
            efficiency.measurementError = roof.source == "measured" && percent > 105
        }
        return efficiency
    }
}
