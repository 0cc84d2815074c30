import CBLAS
import Synchronization

/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transpose

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// The shape of a row-major GEMM `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`.
public struct GEMMShape: Sendable, Equatable {
    public let m: Int, n: Int, k: Int
    public let transA: Transpose, transB: Transpose

    public init(m: Int, n: Int, k: Int, transA: Transpose = .none, transB: Transpose = .none) {
        self.m = m
        self.n = n
        self.k = k
        self.transA = transA
        self.transB = transB
    }

    /// The dimensions as the BLAS integer (`BLAS.gemm` checks that they fit first).
    var m32: blasint { blasint(m) }
    var n32: blasint { blasint(n) }
    var k32: blasint { blasint(k) }
    /// Row-major leading dimensions of the operands as stored.
    var lda: blasint { blasint(transA == .none ? k : m) }
    var ldb: blasint { blasint(transB == .none ? n : k) }
    var ldc: blasint { blasint(n) }
}

/// Element types the host BLAS multiplies: fp32 (`cblas_sgemm`) and fp64 (`cblas_dgemm`). Its
/// requirement is the unchecked C call, underscored as not for use: `BLAS.gemm` checks every
/// operand's length first.
public protocol BLASElement: BinaryFloatingPoint, Sendable {
    static func _uncheckedGEMM(
        _ shape: GEMMShape, _ alpha: Self, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ beta: Self, _ c: UnsafeMutablePointer<Self>)
}

extension Float: BLASElement {
    public static func _uncheckedGEMM(
        _ shape: GEMMShape, _ alpha: Float, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ beta: Float, _ c: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemm(CblasRowMajor, shape.transA.cblas, shape.transB.cblas, shape.m32, shape.n32, shape.k32, alpha, a, shape.lda, b, shape.ldb, beta, c, shape.ldc)
    }
}

extension Double: BLASElement {
    public static func _uncheckedGEMM(
        _ shape: GEMMShape, _ alpha: Double, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ beta: Double,
        _ c: UnsafeMutablePointer<Double>
    ) {
        cblas_dgemm(CblasRowMajor, shape.transA.cblas, shape.transB.cblas, shape.m32, shape.n32, shape.k32, alpha, a, shape.lda, b, shape.ldb, beta, c, shape.ldc)
    }
}

/// The host BLAS (OpenBLAS through its CBLAS interface).
public enum BLAS {
    /// Row-major GEMM on buffers that know their length: each must hold its whole operand, which
    /// is checked, so no shape can make the library read or write past one.
    public static func gemm<Element: BLASElement>(
        _ shape: GEMMShape, alpha: Element = 1, a: UnsafeBufferPointer<Element>, b: UnsafeBufferPointer<Element>, beta: Element = 0,
        c: UnsafeMutableBufferPointer<Element>
    ) {
        precondition(shape.m > 0 && shape.n > 0 && shape.k > 0, "GEMM dimensions must be positive")
        precondition(max(shape.m, shape.n, shape.k) <= Int(Int32.max), "GEMM dimensions exceed the BLAS integer")
        precondition(a.count >= shape.m * shape.k, "A holds \(a.count) elements; \(shape.m)x\(shape.k) needs \(shape.m * shape.k)")
        precondition(b.count >= shape.k * shape.n, "B holds \(b.count) elements; \(shape.k)x\(shape.n) needs \(shape.k * shape.n)")
        precondition(c.count >= shape.m * shape.n, "C holds \(c.count) elements; \(shape.m)x\(shape.n) needs \(shape.m * shape.n)")
        Element._uncheckedGEMM(shape, alpha, a.baseAddress!, b.baseAddress!, beta, c.baseAddress!)
    }

    /// Row-major GEMM on arrays.
    public static func gemm<Element: BLASElement>(
        _ shape: GEMMShape, alpha: Element = 1, a: [Element], b: [Element], beta: Element = 0, c: inout [Element]
    ) {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in gemm(shape, alpha: alpha, a: a, b: b, beta: beta, c: c) }
            }
        }
    }

    /// What the library says about itself.
    public static var identity: Identity {
        Identity(
            configuration: String(cString: openblas_get_config()),
            coreName: String(cString: openblas_get_corename()),
            threads: Int(openblas_get_num_threads()),
            parallelism: Parallelism(rawValue: Int(openblas_get_parallel())) ?? .unknown)
    }

    /// Runs `body` with BLAS calls on `count` threads, then restores the count. The count is one
    /// setting for the whole process, so callers take turns: no two interleave their changes.
    public static func withThreads(_ count: Int, _ body: () -> Void) {
        precondition(count > 0, "BLAS needs at least one thread")
        threadCountTurn.withLock { _ in
            let before = openblas_get_num_threads()
            openblas_set_num_threads(Int32(count))
            body()
            openblas_set_num_threads(before)
        }
    }

    private static let threadCountTurn = Mutex(())

    public struct Identity: Sendable, Equatable {
        /// Build configuration, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
        public let configuration: String
        /// The CPU kernel set OpenBLAS chose at load time, e.g. "Haswell" or "SkylakeX".
        public let coreName: String
        public let threads: Int
        public let parallelism: Parallelism

        /// "0.3.21" from the configuration string, when it has one.
        public var version: String? {
            let words = configuration.split(separator: " ")
            guard let index = words.firstIndex(of: "OpenBLAS"), index + 1 < words.count else { return nil }
            return String(words[index + 1])
        }
    }

    /// How the library was built to run in parallel.
    public enum Parallelism: Int, Sendable {
        case sequential = 0, pthreads = 1, openMP = 2, unknown = -1
    }
}
