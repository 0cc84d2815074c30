/// A deliberate slowdown of one implementation, to prove that a regression gate catches one
/// (`run --debug-slowdown IMPL=FACTOR`): each execution runs the kernel FACTOR times and reports
/// the sum. The results say so in their notes; never use it for real measurements.
public struct InjectedSlowdown: Codable, Sendable, Equatable {
    public let implementation: Implementation
    public let factor: Int

    /// Parses `openblas=3`.
    public init(parsing text: String) throws(UsageError) {
        let parts = text.split(separator: "=")
        guard parts.count == 2, let implementation = Implementation(rawValue: String(parts[0])), let factor = Int(parts[1]), factor >= 2
        else {
            throw UsageError(
                "--debug-slowdown '\(text)' must be IMPL=FACTOR with IMPL one of "
                    + Implementation.allCases.map(\.rawValue).joined(separator: ", ") + " and FACTOR a whole number of at least 2")
        }
        self.implementation = implementation
        self.factor = factor
    }

    func applied(to kernel: PreparedKernel) -> PreparedKernel { SlowedKernel(inner: kernel, factor: factor) }
}

private final class SlowedKernel: PreparedKernel {
    let inner: PreparedKernel
    let factor: Int

    init(inner: PreparedKernel, factor: Int) {
        self.inner = inner
        self.factor = factor
    }

    var notes: [String] { inner.notes + ["slowed down \(factor)x on purpose by --debug-slowdown: every sample runs the kernel \(factor) times"] }

    func execute() throws -> SampleTime {
        var total = SampleTime(kernelSeconds: 0, wallSeconds: 0)
        for _ in 0..<factor {
            let time = try inner.execute()
            total.kernelSeconds += time.kernelSeconds
            total.wallSeconds += time.wallSeconds
        }
        return total
    }

    func result() throws -> [Double] { try inner.result() }
}
