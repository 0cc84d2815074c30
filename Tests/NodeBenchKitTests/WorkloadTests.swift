import Testing

@testable import NodeBenchKit

@Suite struct WorkloadTests {
    @Test func parsesShapes() throws {
        #expect(try GEMMShape(parsing: "1000x3000x17") == GEMMShape(m: 1000, n: 3000, k: 17))
        #expect(try GEMMShape(parsing: "4X5X6") == GEMMShape(m: 4, n: 5, k: 6))
        #expect(GEMMShape(m: 2, n: 3, k: 4).flops == 48)
    }

    @Test(arguments: [
        ("0x5x5", "between 1 and"), ("1x1", "three dimensions"), ("1x2x3x4", "three dimensions"),
        ("ax2x3", "whole numbers"), ("-1x2x3", "between 1 and"), ("99999999999x1x1", "between 1 and"), ("", "three"),
    ])
    func rejectsBadShapesSayingWhatIsAccepted(text: String, expected: String) {
        #expect {
            try GEMMShape(parsing: text)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func roundsToEachStorageType() {
        #expect(DType.fp64.rounded(1.0 / 3) == 1.0 / 3)
        #expect(DType.fp32.rounded(1.0 / 3) == Double(Float(1.0 / 3)))
        #expect(DType.fp16.rounded(1.0 / 3) == 0.333251953125)  // 0x3555
        #expect(DType.bf16.rounded(1.0 / 3) == 0.333984375)  // 0x3EAB
        #expect(DType.fp16.rounded(65519) == 65504)  // largest finite fp16
    }

    @Test func bfloat16RoundsToNearestEven() {
        // 1 + 2^-8 is halfway between two bf16 values; ties go to the even one (1.0).
        #expect(BFloat16(Float(1 + 0x1p-8)).float == 1)
        // 1 + 3·2^-8 is halfway too; the even neighbour is 1 + 2^-6.
        #expect(BFloat16(Float(1 + 3 * 0x1p-8)).float == Float(1 + 0x1p-6))
        #expect(BFloat16(Float(1 + 0x1p-8 + 0x1p-20)).float == Float(1 + 0x1p-7))
        #expect(BFloat16(Float.nan).float.isNaN)
        // NaNs that rounding would carry to infinity or into the sign bit: quieted, truncated.
        #expect(BFloat16(Float(bitPattern: 0x7F80_0001)).bitPattern == 0x7FC0)
        #expect(BFloat16(Float(bitPattern: 0x7FFF_FFFF)).bitPattern == 0x7FFF)
        #expect(BFloat16(-2.5).float == -2.5)
        #expect(BFloat16(Float.infinity).float == .infinity)
    }

    @Test func inputsAreReproducibleAndNotConstant() {
        let gemm = GEMMCase(shape: GEMMShape(m: 5, n: 7, k: 3), layout: .nn, dtype: .fp16)
        let first = GEMMInputs(gemm: gemm, seed: 7)
        let again = GEMMInputs(gemm: gemm, seed: 7)
        let other = GEMMInputs(gemm: gemm, seed: 8)
        #expect(first.a == again.a && first.b == again.b)
        #expect(first.a != other.a)
        #expect(first.a.count == 15 && first.b.count == 21)
        #expect(Set(first.a).count > 10)
        #expect(first.a.allSatisfy { (-1...1).contains($0) && DType.fp16.rounded($0) == $0 })
    }

    @Test func quickSuiteCoversEveryLayoutAndType() {
        let cases = Suite.named(.quick).cases
        #expect(Set(cases.map(\.layout)) == Set(GEMMLayout.allCases))
        #expect(Set(cases.map(\.dtype)) == Set(DType.allCases))
        #expect(cases.contains { $0.shape.m % 16 != 0 })  // an odd shape, off every tile
        #expect(Set(cases).count == cases.count)
    }

    @Test func optionsReplaceTheSuitesLists() throws {
        let suite = Suite.named(.quick)
        let shape = GEMMShape(m: 1000, n: 3000, k: 17)
        let one = try suite.selecting(shapes: [shape], layouts: [.nt], dtypes: [.fp32]).cases
        #expect(one == [GEMMCase(shape: shape, layout: .nt, dtype: .fp32)])
        let bf16 = try suite.selecting(shapes: [], layouts: [], dtypes: [.bf16]).cases
        #expect(bf16.allSatisfy { $0.dtype == .bf16 })
        #expect(Set(bf16.map(\.shape)) == Set(suite.cases.map(\.shape)))
        #expect(try suite.selecting(shapes: [], layouts: [], dtypes: []).cases == suite.cases)
    }
}
