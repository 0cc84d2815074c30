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

    /// Row-major leading dimensions of the operands as stored.
    var lda: Int32 { Int32(transA == .none ? k : m) }
    var ldb: Int32 { Int32(transB == .none ? n : k) }
    var ldc: Int32 { Int32(n) }
}

/// The host BLAS (OpenBLAS through its CBLAS interface).
public enum BLAS {
    /// Single-precision GEMM on row-major storage.
    public static func sgemm(
        _ shape: GEMMShape, alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0,
        c: UnsafeMutablePointer<Float>
    ) {
        checkFitsInt32(shape)
        cblas_sgemm(
            CblasRowMajor, shape.transA.cblas, shape.transB.cblas, blasint(shape.m), blasint(shape.n),
            blasint(shape.k), alpha, a, blasint(shape.lda), b, blasint(shape.ldb), beta, c, blasint(shape.ldc))
    }

    /// Double-precision GEMM on row-major storage.
    public static func dgemm(
        _ shape: GEMMShape, alpha: Double = 1, a: UnsafePointer<Double>, b: UnsafePointer<Double>, beta: Double = 0,
        c: UnsafeMutablePointer<Double>
    ) {
        checkFitsInt32(shape)
        cblas_dgemm(
            CblasRowMajor, shape.transA.cblas, shape.transB.cblas, blasint(shape.m), blasint(shape.n),
            blasint(shape.k), alpha, a, blasint(shape.lda), b, blasint(shape.ldb), beta, c, blasint(shape.ldc))
    }

    private static func checkFitsInt32(_ shape: GEMMShape) {
        precondition(shape.m > 0 && shape.n > 0 && shape.k > 0, "GEMM dimensions must be positive")
        precondition(max(shape.m, shape.n, shape.k) <= Int(Int32.max), "GEMM dimensions exceed the BLAS integer")
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
