import Testing

@testable import BLASKit

@Suite struct BLASKitTests {
    /// C = op(A)·op(B) by the definition, row-major.
    static func naive(_ shape: GEMMShape, _ a: [Double], _ b: [Double]) -> [Double] {
        var c = [Double](repeating: 0, count: shape.m * shape.n)
        for i in 0..<shape.m {
            for j in 0..<shape.n {
                var sum = 0.0
                for p in 0..<shape.k {
                    let x = shape.transA == .none ? a[i * shape.k + p] : a[p * shape.m + i]
                    let y = shape.transB == .none ? b[p * shape.n + j] : b[j * shape.k + p]
                    sum += x * y
                }
                c[i * shape.n + j] = sum
            }
        }
        return c
    }

    static let layouts: [(Transpose, Transpose)] = [(.none, .none), (.none, .transpose), (.transpose, .none)]

    @Test(arguments: layouts)
    func sgemmMatchesTheDefinitionOnOddShapes(transA: Transpose, transB: Transpose) {
        let shape = GEMMShape(m: 7, n: 13, k: 5, transA: transA, transB: transB)
        let a = (0..<35).map { Double($0 % 7) - 3 }
        let b = (0..<65).map { Double($0 % 5) - 2 }
        var c = [Float](repeating: .nan, count: 91)
        BLAS.gemm(shape, a: a.map { Float($0) }, b: b.map { Float($0) }, c: &c)
        // Small integers: fp32 is exact, so equality is the right test.
        #expect(c.map(Double.init) == Self.naive(shape, a, b))
    }

    @Test(arguments: layouts)
    func dgemmMatchesTheDefinition(transA: Transpose, transB: Transpose) {
        let shape = GEMMShape(m: 9, n: 4, k: 11, transA: transA, transB: transB)
        let a = (0..<99).map { Double($0) * 0.25 - 10 }
        let b = (0..<44).map { Double($0) * 0.5 - 7 }
        var c = [Double](repeating: .nan, count: 36)
        BLAS.gemm(shape, a: a, b: b, c: &c)
        #expect(c == Self.naive(shape, a, b))
    }

    @Test func identityNamesTheLibraryAndItsKernel() {
        let identity = BLAS.identity
        #expect(identity.configuration.contains("OpenBLAS"))
        #expect(identity.version?.first?.isNumber == true)
        #expect(!identity.coreName.isEmpty)
        #expect(identity.threads >= 1)
    }

    @Test func threadCountCanBeSetForABlock() {
        var inside = 0
        BLAS.withThreads(1) { inside = BLAS.identity.threads }
        #expect(inside == 1)
    }
}
