import OpenCLKit

/// A new device buffer holding `elements` as stored.
func upload(_ elements: StoredElements, _ queue: CommandQueue) throws -> Buffer {
    switch elements {
    case .float(let values): try queue.upload(values)
    case .double(let values): try queue.upload(values)
    case .halfWords(let words, _): try queue.upload(words)
    }
}

/// The first `count` elements of `buffer`, stored as `dtype`, widened to Double.
func readResult(_ buffer: Buffer, count: Int, dtype: DType, queue: CommandQueue) throws -> [Double] {
    switch dtype {
    case .fp32: try queue.read(Float.self, count: count, from: buffer).map(Double.init)
    case .fp64: try queue.read(Double.self, count: count, from: buffer)
    case .fp16, .bf16: StoredElements.decode(try queue.read(UInt16.self, count: count, from: buffer), dtype).map(Double.init)
    }
}

/// dQ, dK and dV of an attention backward, read back one after another as its result.
func readGradients(_ gradients: (q: Buffer, k: Buffer, v: Buffer), of attention: AttentionCase, queue: CommandQueue) throws -> [Double] {
    let shape = attention.shape
    return try readResult(gradients.q, count: shape.queryElements, dtype: attention.dtype, queue: queue)
        + readResult(gradients.k, count: shape.keyElements, dtype: attention.dtype, queue: queue)
        + readResult(gradients.v, count: shape.keyElements, dtype: attention.dtype, queue: queue)
}
