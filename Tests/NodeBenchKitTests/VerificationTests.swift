import Testing

@testable import NodeBenchKit

@Suite struct VerificationTests {
    /// C = op(A)·op(B) by the definition, independent of GEMMReference's own loops.
    static func naive(_ inputs: GEMMInputs) -> [Double] {
        let (m, n, k) = (inputs.gemm.shape.m, inputs.gemm.shape.n, inputs.gemm.shape.k)
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                for p in 0..<k {
                    let a = inputs.gemm.layout.transposesA ? inputs.a[p * m + i] : inputs.a[i * k + p]
                    let b = inputs.gemm.layout.transposesB ? inputs.b[j * k + p] : inputs.b[p * n + j]
                    c[i * n + j] += a * b
                }
            }
        }
        return c
    }

    static func inputs(_ m: Int, _ n: Int, _ k: Int, _ layout: GEMMLayout = .nn, _ dtype: DType = .fp32) -> GEMMInputs {
        GEMMInputs(gemm: GEMMCase(shape: GEMMShape(m: m, n: n, k: k), layout: layout, dtype: dtype), seed: 1)
    }

    @Test(arguments: GEMMLayout.allCases)
    func theExactProductPasses(layout: GEMMLayout) {
        let inputs = Self.inputs(9, 11, 13, layout)
        let verification = GEMMReference(inputs).verify(Self.naive(inputs))
        #expect(verification.passed)
        #expect(verification.method == "full")
        #expect(verification.checkedElements == 99)
        #expect(verification.maxAbsError < 1e-12)
    }

    @Test func fp32RoundingPassesAndOneWrongElementFails() {
        let inputs = Self.inputs(20, 30, 40)
        let exact = Self.naive(inputs)
        let rounded = exact.map { DType.fp32.rounded($0) }
        #expect(GEMMReference(inputs).verify(rounded).passed)

        var wrong = rounded
        wrong[17 * 30 + 29] += 0.01  // about what dropping one product of [-1, 1) inputs costs
        let verification = GEMMReference(inputs).verify(wrong)
        #expect(!verification.passed)
        #expect(abs(verification.maxAbsError - 0.01) < 1e-6)
        #expect(verification.worstErrorToTolerance > 1)
    }

    /// A device that accumulates exactly as the type says and rounds once on the store must pass,
    /// for every type and every k from 1: at small k some results are subnormal in fp16, where
    /// rounding costs an absolute, not a relative, error.
    @Test(arguments: DType.allCases)
    func onlyTheStoreRoundingPassesForEveryK(dtype: DType) {
        for k in Array(1...8) + [17, 64, 255] {
            let inputs = Self.inputs(48, 48, k, .nn, dtype)
            let stored = Self.naive(inputs).indices.map { index in
                let (i, j) = (index / 48, index % 48)
                let accumulated = (0..<k).reduce(0.0) { sum, p in
                    dtype.accumulation.rounded(sum + inputs.a[i * k + p] * inputs.b[p * 48 + j])
                }
                return dtype.rounded(accumulated)
            }
            let verification = GEMMReference(inputs).verify(stored)
            #expect(verification.passed, "\(dtype) k=\(k): error/tolerance \(verification.worstErrorToTolerance)")
        }
    }

    @Test func aMissingTermOfTheSumFails() {
        let inputs = Self.inputs(8, 8, 64)
        var short = Self.naive(inputs)
        // The last k-step lost for one element: an off-by-one in a kernel's loop bound.
        short[0] -= inputs.a[63] * inputs.b[63 * 8]
        #expect(!GEMMReference(inputs).verify(short).passed)
    }

    @Test func nanOrInfinityFails() {
        let inputs = Self.inputs(4, 4, 4)
        var result = Self.naive(inputs)
        result[5] = .nan
        let verification = GEMMReference(inputs).verify(result)
        #expect(!verification.passed)
        #expect(verification.nonFiniteElements == 1)
        result[5] = .infinity
        #expect(!GEMMReference(inputs).verify(result).passed)
    }

    @Test func toleranceGrowsWithKAndTheStorageType() {
        func tolerance(_ k: Int, _ dtype: DType) -> Double {
            let inputs = Self.inputs(4, 4, k, .nn, dtype)
            return GEMMReference(inputs).verify(Self.naive(inputs)).tolerance
        }
        #expect(tolerance(1024, .fp32) > tolerance(16, .fp32))
        #expect(tolerance(64, .bf16) > tolerance(64, .fp16))
        #expect(tolerance(64, .fp16) > tolerance(64, .fp32))
        #expect(tolerance(64, .fp32) > tolerance(64, .fp64))
    }

    @Test func largeCasesSampleRowsAndColumnsIncludingTheEdges() {
        let inputs = Self.inputs(64, 48, 32)
        let reference = GEMMReference(inputs, budget: 2 * 48 * 32 * 2)  // a few rows' and columns' worth
        let exact = Self.naive(inputs)
        let verification = reference.verify(exact)
        #expect(verification.method == "sampled")
        #expect(verification.passed)
        #expect(verification.checkedElements < 64 * 48)

        var lastRowWrong = exact
        lastRowWrong[63 * 48 + 5] += 1
        #expect(!reference.verify(lastRowWrong).passed)
        var lastColumnWrong = exact
        lastColumnWrong[30 * 48 + 47] += 1
        #expect(!reference.verify(lastColumnWrong).passed)
    }

    @Test func spreadIncludesBothEnds() {
        #expect(GEMMReference.spread(count: 3, over: 10) == [0, 4, 9])
        #expect(GEMMReference.spread(count: 20, over: 5) == [0, 1, 2, 3, 4])
        #expect(GEMMReference.spread(count: 1, over: 5) == [4])
    }

    /// The fingerprint a fleet compares outputs by: equal outputs agree; one changed value in any
    /// lane or in the tail, a zero's sign, or two values swapped always change it.
    @Test func outputChecksumChangesWithAnyValueAndOrder() {
        let output = (0..<11).map { Double($0) * 0.37 - 1 }
        let checksum = Repeatability.checksum(output)
        #expect(checksum.count == 16 && checksum == Repeatability.checksum(output))
        for index in output.indices {
            var changed = output
            changed[index] = changed[index].nextUp
            #expect(Repeatability.checksum(changed) != checksum, "value \(index) changed by one ulp")
        }
        var swapped = output
        swapped.swapAt(2, 6)
        #expect(Repeatability.checksum(swapped) != checksum)
        #expect(Repeatability.checksum([0.0]) != Repeatability.checksum([-0.0]))
        #expect(Repeatability.checksum([]) != Repeatability.checksum([0.0]))
        for cut in 0...output.count {
            var inPieces = Repeatability.Fingerprint()
            output.withUnsafeBufferPointer { whole in
                inPieces.add(UnsafeBufferPointer(rebasing: whole[..<cut]))
                inPieces.add(UnsafeBufferPointer(rebasing: whole[cut...]))
            }
            #expect(inPieces.hex == checksum, "cut at \(cut)")
        }
    }
}
