import BLASKit

/// Which operands of `C = op(A) · op(B)` are transposed: the three GEMMs of a linear layer.
public enum GEMMLayout: String, CaseIterable, Codable, Sendable {
    /// Input gradient: dX = dY · W.
    case nn = "NN"
    /// Forward: Y = X · Wᵀ.
    case nt = "NT"
    /// Weight gradient: dW = dYᵀ · X.
    case tn = "TN"

    public var transposesA: Bool { self == .tn }
    public var transposesB: Bool { self == .nt }

    public var role: String {
        switch self {
        case .nn: "input gradient"
        case .nt: "forward"
        case .tn: "weight gradient"
        }
    }
}

/// GEMM dimensions: C is m×n, the inner dimension is k.
public struct GEMMShape: Hashable, Codable, Sendable, CustomStringConvertible {
    public let m: Int, n: Int, k: Int

    /// The largest dimension any backend accepts (BLAS and OpenCL kernels index with 32-bit ints).
    public static let maxDimension = Int(Int32.max)

    public init(m: Int, n: Int, k: Int) {
        precondition([m, n, k].allSatisfy { (1...GEMMShape.maxDimension).contains($0) }, "invalid GEMM shape")
        self.m = m
        self.n = n
        self.k = k
    }

    /// Parses `MxNxK`; the error says what is wrong and what is accepted.
    public init(parsing text: String) throws(UsageError) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw UsageError("shape '\(text)' must have three dimensions, MxNxK (e.g. 1024x1024x1024)")
        }
        let dims = parts.map { Int($0) }
        guard let m = dims[0], let n = dims[1], let k = dims[2] else {
            throw UsageError("shape '\(text)' must be three whole numbers, MxNxK (e.g. 1024x1024x1024)")
        }
        guard [m, n, k].allSatisfy({ (1...GEMMShape.maxDimension).contains($0) }) else {
            throw UsageError("shape '\(text)': every dimension must be between 1 and \(GEMMShape.maxDimension)")
        }
        self.init(m: m, n: n, k: k)
    }

    public var description: String { "\(m)x\(n)x\(k)" }

    /// Multiply-adds count twice.
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// One GEMM to run: `C = alpha·op(A)·op(B) + beta·C` of a shape, layout and element type.
public struct GEMMCase: Hashable, Codable, Sendable, CustomStringConvertible {
    public let shape: GEMMShape
    public let layout: GEMMLayout
    public let dtype: DType
    public let alpha: Double
    /// Non-zero: C starts from seeded values and is read as well as written.
    public let beta: Double

    public init(shape: GEMMShape, layout: GEMMLayout, dtype: DType, alpha: Double = 1, beta: Double = 0) {
        self.shape = shape
        self.layout = layout
        self.dtype = dtype
        self.alpha = alpha
        self.beta = beta
    }

    public var description: String {
        let scaling = alpha == 1 && beta == 0 ? "" : " alpha=\(alpha) beta=\(beta)"
        return "gemm \(dtype.rawValue) \(layout.rawValue) \(shape)\(scaling)"
    }

    /// Element counts of A, B and C as stored; nil when they overflow.
    public var elementCounts: (a: Int, b: Int, c: Int)? {
        let (a, overflowA) = shape.m.multipliedReportingOverflow(by: shape.k)
        let (b, overflowB) = shape.k.multipliedReportingOverflow(by: shape.n)
        let (c, overflowC) = shape.m.multipliedReportingOverflow(by: shape.n)
        return overflowA || overflowB || overflowC ? nil : (a, b, c)
    }

    /// The host BLAS description of this case.
    var blasShape: BLASKit.GEMMShape {
        BLASKit.GEMMShape(
            m: shape.m, n: shape.n, k: shape.k, transA: layout.transposesA ? .transpose : .none,
            transB: layout.transposesB ? .transpose : .none)
    }
}

/// Bad input from the user: the message names the problem and what is accepted.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
