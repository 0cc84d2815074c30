import OpenCLKit
import Testing

@testable import CLBlastKit

/// CLBlast on the real PoCL device, against the definition of GEMM.
@Suite struct CLBlastKitTests {
    @Test(arguments: [(false, false), (false, true), (true, false)])
    func sgemmMatchesTheDefinition(transposeA: Bool, transposeB: Bool) throws {
        let device = try #require(try Platform.all().first?.devices().first, "scripts/setup installs PoCL")
        let context = try Context(device: device)
        let queue = try CommandQueue(context: context)
        let (m, n, k) = (5, 7, 3)
        let a = (0..<(m * k)).map { Float($0 % 5) - 2 }
        let b = (0..<(k * n)).map { Float($0 % 3) - 1 }
        let cBuffer = try queue.upload([Float](repeating: .nan, count: m * n))
        let event = try CLBlast.gemm(
            .single, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: try queue.upload(a),
            b: try queue.upload(b), c: cBuffer, queue: queue)
        try event.wait()
        #expect(try event.deviceSeconds() > 0)
        let c = try queue.read(Float.self, count: m * n, from: cBuffer)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    sum += (transposeA ? a[p * m + i] : a[i * k + p]) * (transposeB ? b[j * k + p] : b[p * n + j])
                }
                #expect(c[i * n + j] == sum, "C[\(i)][\(j)]")
            }
        }
    }

    @Test func errorsNameCLBlastsAndOpenCLsCodes() {
        #expect(CLBlastError(code: -2045).description == "CLBlast GEMM failed: CLBlastNoHalfPrecision")
        #expect(CLBlastError(code: -1010).name == "CLBlastInsufficientMemoryB")
        #expect(CLBlastError(code: -5).name == "CL_OUT_OF_RESOURCES")
    }
}
