/// Element types a case can store its matrices in.
public enum DType: String, CaseIterable, Codable, Sendable {
    case fp32, fp64, fp16, bf16

    /// Bytes one element takes in device memory.
    public var storageBytes: Int {
        switch self {
        case .fp64: 8
        case .fp32: 4
        case .fp16, .bf16: 2
        }
    }

    /// The build option that selects this type in the project's OpenCL kernels (`-D NB_FP16`):
    /// each kernel maps it to its storage type and its load and store functions.
    var kernelTypeOption: String { "-D NB_\(rawValue.uppercased())" }

    /// The type products are summed in: fp16 and bf16 are storage formats, summed in fp32.
    public var accumulation: DType { self == .fp64 ? .fp64 : .fp32 }

    /// Unit roundoff (half a unit in the last place) of the type's significand.
    public var unitRoundoff: Double {
        switch self {
        case .fp64: 0x1p-53
        case .fp32: 0x1p-24
        case .fp16: 0x1p-11
        case .bf16: 0x1p-8
        }
    }

    /// The smallest normal magnitude: below it values are subnormal, spaced evenly, and rounding
    /// them costs an absolute error rather than a relative one.
    public var smallestNormal: Double {
        switch self {
        case .fp64: 0x1p-1022
        case .fp32, .bf16: 0x1p-126
        case .fp16: 0x1p-14
        }
    }

    /// The largest error of rounding `value` to this type (to nearest), subnormals included.
    public func roundingBound(_ value: Double) -> Double {
        unitRoundoff * max(abs(value), smallestNormal)
    }

    /// The nearest value of this type to `value`, as a Double (round to nearest, ties to even).
    public func rounded(_ value: Double) -> Double {
        switch self {
        case .fp64: value
        case .fp32: Double(Float(value))
        case .fp16: Double(Float(Float16(Float(value))))
        case .bf16: Double(BFloat16(Float(value)).float)
        }
    }
}

/// bfloat16: the upper 16 bits of an IEEE fp32, which Swift has no type for.
public struct BFloat16: Sendable, Equatable {
    public let bitPattern: UInt16

    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Rounds to nearest, ties to even; a NaN is quieted and truncated (rounding could carry it to
    /// infinity), as the kernels' stores do.
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: (bits | 0x40_0000) >> 16)
            return
        }
        let roundingBias = UInt32(0x7FFF) + ((bits >> 16) & 1)
        bitPattern = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    public var float: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
}
