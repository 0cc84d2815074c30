/// The fp64 reference for one case, computed once on the host and checked against every device's
/// result. Small cases are checked in full; past a budget of multiply-adds, every element of some
/// rows and columns is (always the first and last, where edge-tile bugs live).
public struct GEMMReference: Sendable {
    public let gemm: GEMMCase
    public let method: String
    /// Row-major indices into C of the checked elements, their reference values and the sums of
    /// their products' magnitudes (which scale the tolerance).
    private let indices: [Int]
    private let values: [Double]
    private let absoluteSums: [Double]

    /// Per element: `4·√k·u_acc·(|alpha|·Σ|a·b| + |beta·c0|) + u_out·max(|c|, min_normal)` — a
    /// probabilistic bound on the accumulation's rounding error (errors of random sign grow as √k)
    /// plus the rounding of the stored result, subnormal results included (they matter at small k).
    public static let toleranceModel =
        "4*sqrt(k)*u_accumulate*(|alpha|*sum|a*b| + |beta*c0|) + u_storage*max(|c|, smallest_normal_storage)"

    /// The default budget keeps a reference under about a second in a release build.
    public init(_ inputs: GEMMInputs, budget: Int = 1 << 27) {
        gemm = inputs.gemm
        let shape = inputs.gemm.shape
        let (rows, cols, method) = GEMMReference.elementsToCheck(shape, budget: budget)
        self.method = method
        let operands = RowMajorOperands(inputs)
        let (alpha, beta) = (inputs.gemm.alpha, inputs.gemm.beta)
        var indices: [Int] = [], values: [Double] = [], absoluteSums: [Double] = []
        func add(_ i: Int, _ j: Int) {
            let (dot, absoluteDot) = operands.dot(row: i, col: j)
            let index = i * shape.n + j
            let scaledC = inputs.c.isEmpty ? 0 : beta * inputs.c[index]
            indices.append(index)
            values.append(alpha * dot + scaledC)
            absoluteSums.append(abs(alpha) * absoluteDot + abs(scaledC))
        }
        for i in rows.sorted() { for j in 0..<shape.n { add(i, j) } }
        for j in cols { for i in 0..<shape.m where !rows.contains(i) { add(i, j) } }
        self.indices = indices
        self.values = values
        self.absoluteSums = absoluteSums
    }

    public func verify(_ result: [Double]) -> Verification {
        let shape = gemm.shape
        precondition(result.count == shape.m * shape.n, "result has \(result.count) elements")
        let accumulationFactor = 4 * Double(shape.k).squareRoot() * gemm.dtype.accumulation.unitRoundoff
        var tally = ErrorTally()
        for (position, index) in indices.enumerated() {
            let reference = values[position]
            tally.add(
                result[index], reference: reference,
                tolerance: accumulationFactor * absoluteSums[position] + gemm.dtype.roundingBound(reference))
        }
        return tally.verification(method: method, output: result, toleranceModel: GEMMReference.toleranceModel)
    }

    /// All rows when the full reference fits the budget; otherwise a sample of rows and columns.
    private static func elementsToCheck(_ shape: GEMMShape, budget: Int) -> (rows: Set<Int>, cols: [Int], method: String) {
        let fullCost = Double(shape.m) * Double(shape.n) * Double(shape.k)
        if fullCost <= Double(budget) { return (Set(0..<shape.m), [], "full") }
        let rowCount = max(2, budget / 2 / max(1, shape.n * shape.k))
        let colCount = max(2, budget / 2 / max(1, shape.m * shape.k))
        return (Set(spread(count: rowCount, over: shape.m)), spread(count: colCount, over: shape.n), "sampled")
    }

    /// `count` indices in 0..<size: the first, the last, and the rest spread evenly between.
    static func spread(count: Int, over size: Int) -> [Int] {
        guard count < size else { return Array(0..<size) }
        guard count > 1 else { return [size - 1] }
        return (0..<count).map { $0 * (size - 1) / (count - 1) }
    }

    /// Bytes the reference holds while it is computed, beyond the inputs.
    static func workingBytes(_ gemm: GEMMCase) -> Double {
        guard let counts = gemm.elementCounts else { return .infinity }
        return Double(counts.a + counts.b) * 8
    }
}

/// op(A) by rows and op(B) by columns, each contiguous, so every reference dot product streams.
private struct RowMajorOperands {
    let k: Int
    let aRows: [Double]  // m×k
    let bCols: [Double]  // n×k

    init(_ inputs: GEMMInputs) {
        let shape = inputs.gemm.shape
        k = shape.k
        aRows = inputs.gemm.layout.transposesA ? transpose(inputs.a, rows: shape.k, cols: shape.m) : inputs.a
        bCols = inputs.gemm.layout.transposesB ? inputs.b : transpose(inputs.b, rows: shape.k, cols: shape.n)
    }

    /// The exact-as-fp64 dot product and the sum of the products' magnitudes.
    func dot(row: Int, col: Int) -> (Double, Double) {
        var sum = 0.0
        var absoluteSum = 0.0
        let aBase = row * k
        let bBase = col * k
        for index in 0..<k {
            let product = aRows[aBase + index] * bCols[bBase + index]
            sum += product
            absoluteSum += abs(product)
        }
        return (sum, absoluteSum)
    }
}

private func transpose(_ matrix: [Double], rows: Int, cols: Int) -> [Double] {
    [Double](unsafeUninitializedCapacity: rows * cols) { out, initialized in
        for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = matrix[r * cols + c] } }
        initialized = rows * cols
    }
}
