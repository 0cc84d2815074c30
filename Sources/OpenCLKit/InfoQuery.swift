import COpenCL

/// The two-call pattern every `clGet*Info` shares: ask for the size, then fill a buffer.
struct InfoQuery {
    typealias Getter = (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int
    let call: String
    let get: Getter

    func bytes() throws(OpenCLError) -> [UInt8] {
        var size = 0
        try check(get(0, nil, &size), call)
        guard size > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: size)
        let status = buffer.withUnsafeMutableBytes { get(size, $0.baseAddress, nil) }
        try check(status, call)
        return buffer
    }

    func string() throws(OpenCLError) -> String {
        let raw = try bytes()
        let text = raw.prefix { $0 != 0 }
        return trimmingWhitespace(String(decoding: text, as: UTF8.self))
    }

    func value<T: BitwiseCopyable>(_: T.Type = T.self) throws(OpenCLError) -> T {
        let raw = try bytes()
        precondition(raw.count >= MemoryLayout<T>.size, "\(call) returned \(raw.count) bytes for a \(T.self)")
        return raw.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }

    func array<T: BitwiseCopyable>(of _: T.Type) throws(OpenCLError) -> [T] {
        let raw = try bytes()
        let count = raw.count / MemoryLayout<T>.stride
        return (0..<count).map { index in
            raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.stride, as: T.self) }
        }
    }
}

/// Drivers pad some strings (PoCL's device name, NVIDIA's versions) with spaces.
private func trimmingWhitespace(_ text: String) -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" }
    return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
}
