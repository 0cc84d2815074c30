import CCLBlast
import OpenCLKit

/// CLBlast's GEMM on NodeBench's OpenCL objects, for side-by-side comparison.
public enum CLBlast {
    public enum Precision: Sendable {
        case single, double, half
    }

    /// `C = alpha·op(A)·op(B) + beta·C` on row-major buffers; returns the event of CLBlast's last kernel.
    public static func gemm(
        _ precision: Precision, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double = 1, a: Buffer, b: Buffer, beta: Double = 0, c: Buffer, queue: CommandQueue
    ) throws(CLBlastError) -> Event {
        let transA = transposeA ? CLBlastTransposeYes : CLBlastTransposeNo
        let transB = transposeB ? CLBlastTransposeYes : CLBlastTransposeNo
        let lda = transposeA ? m : k, ldb = transposeB ? k : n, ldc = n
        var commandQueue: cl_command_queue? = queue.handle
        var event: cl_event?
        let status: CLBlastStatusCode
        switch precision {
        case .single:
            status = CLBlastSgemm(
                CLBlastLayoutRowMajor, transA, transB, m, n, k, Float(alpha), a.handle, 0, lda, b.handle, 0, ldb, Float(beta),
                c.handle, 0, ldc, &commandQueue, &event)
        case .double:
            status = CLBlastDgemm(
                CLBlastLayoutRowMajor, transA, transB, m, n, k, alpha, a.handle, 0, lda, b.handle, 0, ldb, beta, c.handle, 0,
                ldc, &commandQueue, &event)
        case .half:
            // cl_half is the fp16 bit pattern.
            status = CLBlastHgemm(
                CLBlastLayoutRowMajor, transA, transB, m, n, k, Float16(alpha).bitPattern, a.handle, 0, lda, b.handle, 0, ldb,
                Float16(beta).bitPattern, c.handle, 0, ldc, &commandQueue, &event)
        }
        guard status == CLBlastSuccess, let event else { throw CLBlastError(code: status.rawValue) }
        return Event(handle: event, command: "CLBlast xGEMM")
    }
}

/// A CLBlast status code, by name: its own codes, and OpenCL's where CLBlast passes them on.
public struct CLBlastError: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: Int32

    public var name: String {
        switch code {
        case -1024: "CLBlastNotImplemented"
        case -2045: "CLBlastNoHalfPrecision"
        case -2044: "CLBlastNoDoublePrecision"
        case -2046: "CLBlastInvalidLocalMemUsage"
        case -2050: "CLBlastInsufficientMemoryTemp"
        case -1017: "CLBlastInvalidDimension"
        case -1011, -1010, -1009: "CLBlastInsufficientMemory\(["A", "B", "C"][Int(code + 1011)])"
        case -4096 ... -1000: "CLBlastError(\(code))"
        default: OpenCLError.name(of: code)
        }
    }

    public var description: String { "CLBlast GEMM failed: \(name)" }
}
