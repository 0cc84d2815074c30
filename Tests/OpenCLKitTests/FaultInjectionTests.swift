import Foundation
import Testing

@testable import OpenCLKit

/// The fault-injection seam and the wait limit, on the real PoCL device.
@Suite struct FaultInjectionTests {
    static let source = "__kernel void scale(__global float *x) { int i = get_global_id(0); x[i] *= 3.0f; }"

    /// A queue with a 1000-element buffer bound to `scale`.
    static func setUp() throws -> (CommandQueue, Kernel, Buffer) {
        let context = try Context(device: try OpenCLKitTests.firstDevice())
        let queue = try CommandQueue(context: context)
        let kernel = try context.buildProgram(source: source).makeKernel(named: "scale")
        let buffer = try queue.upload((0..<1000).map(Float.init))
        try kernel.setArgument(0, buffer)
        return (queue, kernel, buffer)
    }

    @Test func aHungKernelEndsTheWaitAtTheLimit() throws {
        let (queue, kernel, _) = try Self.setUp()
        let start = Date()
        let error = try #require(throws: OpenCLTimeout.self) {
            try WaitLimit.$seconds.withValue(0.5) {
                try FaultInjection.$active.withValue(FaultInjection(.hang)) {
                    try queue.enqueue(kernel, globalSize: [1000], localSize: nil).wait()
                }
            }
        }
        #expect(error.description == "the device did not finish kernel scale within 0.5 s (--case-timeout)")
        #expect(Date().timeIntervalSince(start) < 30, "the wait ended near its limit, not never")
    }

    @Test func aKernelThatFinishesWaitsNormallyUnderALimit() throws {
        let (queue, kernel, buffer) = try Self.setUp()
        try WaitLimit.$seconds.withValue(30) {
            try queue.enqueue(kernel, globalSize: [1000], localSize: nil).wait()
            try queue.finish()
        }
        #expect(try queue.read(Float.self, count: 1000, from: buffer) == (0..<1000).map { Float($0) * 3 })
    }

    @Test func aBitFlipChangesOneBitOfTheFirstReadOnly() throws {
        let (queue, _, buffer) = try Self.setUp()
        let (first, second) = try FaultInjection.$active.withValue(FaultInjection(.bitflip)) {
            (try queue.read(Float.self, count: 1000, from: buffer), try queue.read(Float.self, count: 1000, from: buffer))
        }
        let expected = (0..<1000).map(Float.init)
        #expect(second == expected)
        let differing = first.indices.filter { first[$0] != expected[$0] }
        #expect(differing == [500])
        #expect(first[500].bitPattern ^ expected[500].bitPattern == 1)
    }

    @Test func aStuckBitChangesTheSameBitOfEveryRead() throws {
        let (queue, _, buffer) = try Self.setUp()
        let reads = try FaultInjection.$active.withValue(FaultInjection(.stuckbit)) {
            try (0..<3).map { _ in try queue.read(Float.self, count: 1000, from: buffer) }
        }
        let expected = (0..<1000).map(Float.init)
        for read in reads {
            #expect(read.indices.filter { read[$0] != expected[$0] } == [500])
            #expect(read[500].bitPattern ^ expected[500].bitPattern == 1)
        }
        #expect(try queue.read(Float.self, count: 1000, from: buffer) == expected, "outside the scope nothing flips")
    }

    /// A read made in pieces gives the whole read's values, and a stuck bit lands on the element a
    /// whole read flips (the middle of all the pieces), in whichever piece holds it.
    @Test func aReadInPiecesFlipsWhereAWholeReadDoes() throws {
        let (queue, _, buffer) = try Self.setUp()
        func readInPieces() throws -> [Float] {
            var piece = [Float](repeating: 0, count: 300), values: [Float] = []
            for offset in stride(from: 0, to: 1000, by: 300) {
                let count = min(300, 1000 - offset)
                try queue.read(into: &piece, count: count, from: buffer, at: offset, ofTotal: 1000)
                values += piece[..<count]
            }
            return values
        }
        let expected = (0..<1000).map(Float.init)
        #expect(try readInPieces() == expected)
        let (whole, pieces) = try FaultInjection.$active.withValue(FaultInjection(.stuckbit)) {
            (try queue.read(Float.self, count: 1000, from: buffer), try readInPieces())
        }
        #expect(pieces == whole && pieces.indices.filter { pieces[$0] != expected[$0] } == [500])
    }

    @Test func buildAllocationAndEnqueueFaultsThrowTheirStatusesInScopeOnly() throws {
        let (queue, kernel, _) = try Self.setUp()
        let context = queue.context
        let codes = try [InjectedFault.build, .allocation, .enqueue].map { fault in
            try #require(throws: OpenCLError.self) {
                try FaultInjection.$active.withValue(FaultInjection(fault)) {
                    switch fault {
                    case .build: _ = try context.buildProgram(source: Self.source)
                    case .allocation: _ = try context.makeBuffer(byteCount: 64)
                    default: _ = try queue.enqueue(kernel, globalSize: [1000], localSize: nil)
                    }
                }
            }.codeName
        }
        #expect(codes == ["CL_BUILD_PROGRAM_FAILURE", "CL_MEM_OBJECT_ALLOCATION_FAILURE", "CL_INVALID_COMMAND_QUEUE"])
        // Outside the scope the same calls succeed.
        _ = try context.buildProgram(source: Self.source)
        _ = try context.makeBuffer(byteCount: 64)
        try queue.enqueue(kernel, globalSize: [1000], localSize: nil).wait()
    }

    @Test func aReleaseThatFailsIsKeptForTheRunToReport() {
        _ = ReleaseFailures.drain()
        ReleaseFailures.check(0, "clReleaseKernel")  // CL_SUCCESS
        ReleaseFailures.check(-38, "clReleaseMemObject")  // CL_INVALID_MEM_OBJECT
        #expect(ReleaseFailures.drain() == ["clReleaseMemObject failed: CL_INVALID_MEM_OBJECT"])
        #expect(ReleaseFailures.drain().isEmpty)
    }
}
