import OpenCLKit

/// A new device buffer holding `elements` as stored.
func upload(_ elements: StoredElements, _ queue: CommandQueue) throws -> Buffer {
    switch elements {
    case .float(let values): try queue.upload(values)
    case .double(let values): try queue.upload(values)
    case .halfWords(let words, _): try queue.upload(words)
    }
}

/// A prepared kernel whose output lies in device buffers: read back whole to verify, fingerprinted
/// in pieces after each repetition.
protocol DeviceOutputKernel: PreparedKernel {
    var deviceOutputs: DeviceOutputs { get }
}

extension DeviceOutputKernel {
    func result() throws -> [Double] { try deviceOutputs.read() }
    func outputFingerprint() throws -> String { try deviceOutputs.fingerprint() }
}

/// The device buffers that hold a prepared kernel's output, in result order, each as the first
/// `count` elements of its buffer stored as `dtype`.
struct DeviceOutputs {
    typealias Part = (buffer: Buffer, count: Int, dtype: DType)
    let parts: [Part]
    let queue: CommandQueue

    init(parts: [Part], queue: CommandQueue) {
        self.parts = parts
        self.queue = queue
    }

    /// dQ, dK and dV of an attention backward, one after another.
    init(gradients: (q: Buffer, k: Buffer, v: Buffer), of attention: AttentionCase, queue: CommandQueue) {
        let shape = attention.shape
        self.init(
            parts: [(gradients.q, shape.queryElements, attention.dtype), (gradients.k, shape.keyElements, attention.dtype),
                    (gradients.v, shape.keyElements, attention.dtype)],
            queue: queue)
    }

    /// Values per piece of a fingerprint's read: a few MiB of scratch, used again for every piece.
    static let pieceElements = 1 << 20

    /// The output widened to Double.
    func read() throws -> [Double] {
        try parts.flatMap { part -> [Double] in
            switch part.dtype {
            case .fp32: try queue.read(Float.self, count: part.count, from: part.buffer).map(Double.init)
            case .fp64: try queue.read(Double.self, count: part.count, from: part.buffer)
            case .fp16, .bf16: StoredElements.decode(try queue.read(UInt16.self, count: part.count, from: part.buffer), part.dtype).map(Double.init)
            }
        }
    }

    /// `Repeatability.checksum(read())`, read and widened a piece at a time into scratch that is
    /// used again: an LM head's output (hundreds of millions of values) is fingerprinted after every
    /// repetition, and widening it whole took seconds of fresh memory each time.
    func fingerprint(pieceElements: Int = Self.pieceElements) throws -> String {
        var fingerprint = Repeatability.Fingerprint()
        var widened = [Double](repeating: 0, count: pieceElements)
        for part in parts {
            switch part.dtype {
            case .fp32: try add(part, as: Float.self, piece: pieceElements, to: &fingerprint, widened: &widened) { Double($0) }
            case .fp64: try add(part, as: Double.self, piece: pieceElements, to: &fingerprint, widened: &widened) { $0 }
            case .fp16: try add(part, as: UInt16.self, piece: pieceElements, to: &fingerprint, widened: &widened) { Double(Float(Float16(bitPattern: $0))) }
            case .bf16: try add(part, as: UInt16.self, piece: pieceElements, to: &fingerprint, widened: &widened) { Double(BFloat16(bitPattern: $0).float) }
            }
        }
        return fingerprint.hex
    }

    private func add<Stored: BitwiseCopyable>(
        _ part: Part, as _: Stored.Type, piece: Int, to fingerprint: inout Repeatability.Fingerprint, widened: inout [Double],
        widen: (Stored) -> Double
    ) throws {
        var stored = [Stored](unsafeUninitializedCapacity: min(piece, part.count)) { _, initialized in initialized = min(piece, part.count) }
        var offset = 0
        while offset < part.count {
            let count = min(piece, part.count - offset)
            try queue.read(into: &stored, count: count, from: part.buffer, at: offset, ofTotal: part.count)
            for index in 0..<count { widened[index] = widen(stored[index]) }
            widened.withUnsafeBufferPointer { fingerprint.add(UnsafeBufferPointer(rebasing: $0[..<count])) }
            offset += count
        }
    }
}
