/// The operands of one case, generated from a seed and rounded to the case's element type, so
/// every backend and the reference see exactly the same numbers.
public struct GEMMInputs: Sendable {
    public let gemm: GEMMCase
    /// A as stored: m×k, or k×m for a transposed layout (row-major).
    public let a: [Double]
    /// B as stored: k×n, or n×k for a transposed layout (row-major).
    public let b: [Double]
    /// C before the GEMM (m×n), when beta is not zero; empty otherwise.
    public let c: [Double]

    public init(gemm: GEMMCase, seed: UInt64) {
        precondition(gemm.elementCounts != nil, "caller checks the case fits in memory")
        let counts = gemm.elementCounts!
        self.gemm = gemm
        var generatorA = SplitMix64(seed: seed)
        var generatorB = SplitMix64(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        var generatorC = SplitMix64(seed: seed ^ 0xD1B5_4A32_D192_ED03)
        a = (0..<counts.a).map { _ in gemm.dtype.rounded(generatorA.nextSigned()) }
        b = (0..<counts.b).map { _ in gemm.dtype.rounded(generatorB.nextSigned()) }
        c = gemm.beta == 0 ? [] : (0..<counts.c).map { _ in gemm.dtype.rounded(generatorC.nextSigned()) }
    }

    /// C as a backend starts from: the seeded values, or zeros when beta is zero.
    public var initialC: [Double] {
        c.isEmpty ? [Double](repeating: 0, count: gemm.shape.m * gemm.shape.n) : c
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64); the same seed gives the
/// same operands on every machine, so runs are reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), with 53 random bits.
    public mutating func nextSigned() -> Double {
        Double(next() >> 11) * 0x1p-52 - 1
    }
}
