import Foundation
import OpenCLKit
import Testing

@testable import NodeBenchKit

/// The OpenCL polynomial exponentials on the PoCL device, against Double's, in scalars and vectors.
@Suite struct OpenCLExponentialTests {
    /// `function` of each input, from the scalar and the float4 instantiation.
    static func evaluate(_ function: String, _ inputs: [Float]) throws -> (scalar: [Float], vector: [Float]) {
        let device = try #require(try Platform.all().flatMap { try $0.devices() }.first, "no OpenCL device: scripts/setup installs PoCL")
        let context = try Context(device: device)
        let queue = try CommandQueue(context: context)
        let program = try context.buildProgram(source: OpenCLExponentials.text + "\n" + """
            EXP_FAMILY(float, as_float, as_int)
            EXP_FAMILY(float4, as_float4, as_int4)
            __kernel void scalar(__global float *x) { const int i = get_global_id(0); x[i] = \(function)(x[i]); }
            __kernel void vector(__global float *x) { const int i = get_global_id(0); vstore4(\(function)(vload4(i, x)), i, x); }
            """)
        let padded = inputs + [Float](repeating: 0, count: (4 - inputs.count % 4) % 4)
        func run(_ name: String, items: Int) throws -> [Float] {
            let buffer = try context.makeBuffer(byteCount: padded.count * 4)
            try queue.write(padded, to: buffer)
            let kernel = try program.makeKernel(named: name)
            try kernel.setArgument(0, buffer)
            try queue.enqueue(kernel, globalSize: [items], localSize: nil).wait()
            return Array(try queue.read(Float.self, count: padded.count, from: buffer).prefix(inputs.count))
        }
        return (try run("scalar", items: padded.count), try run("vector", items: padded.count / 4))
    }

    /// The largest error in units of the last place of the correctly rounded result.
    static func largestUlpError(_ values: [Float], _ inputs: [Float], exact: (Double) -> Double) -> Double {
        zip(values, inputs).map { value, x in
            let reference = exact(Double(x))
            return abs(Double(value) - reference) / Double(Float(reference).ulp)
        }.max() ?? 0
    }

    @Test func exp2IsWithinTwoUlpsAndZeroBelowItsRange() throws {
        let inputs = (0...200_000).map { Float(-126 + 134 * Double($0) / 200_000) }
        let (scalar, vector) = try Self.evaluate("exp2_polynomial", inputs)
        for values in [scalar, vector] {
            #expect(Self.largestUlpError(values, inputs) { exp2($0) } <= 2.5)
        }
        let edges = try Self.evaluate("exp2_polynomial", [0, -126.6, -200, -.infinity, .nan])
        for values in [edges.scalar, edges.vector] {
            #expect(values[0] == 1)
            #expect(values[1...3] == [0, 0, 0])
            #expect(values[4].isNaN)
        }
    }

    @Test func expIsWithinTwoUlpsOverItsRange() throws {
        let inputs = (0...200_000).map { Float(-87 * Double($0) / 200_000) }
        let (scalar, vector) = try Self.evaluate("exp_nonpositive", inputs)
        for values in [scalar, vector] {
            #expect(Self.largestUlpError(values, inputs) { exp($0) } <= 2.5)
            #expect(values[0] == 1)
        }
    }
}
