/// A deliberate slowdown, to prove that a regression gate catches one (`run --debug-slowdown
/// SELECTOR=FACTOR`): every execution of the selected cases runs the kernel ⌈FACTOR⌉ times and
/// reports the time of ⌊FACTOR⌋ runs plus the fractional part of one more, so 1.10 costs 10% more
/// of real kernel time. The results say so in their notes; never use it for real measurements.
public struct InjectedSlowdown: Codable, Sendable, Equatable {
    /// An implementation (`openblas`: all its cases) or one case as comparisons name it
    /// (`host openblas gemm fp32 NN 256x256x256`).
    public let selector: String
    public let factor: Double

    /// Parses `openblas=6` or `host openblas gemm fp32 NN 256x256x256=1.10`.
    public init(parsing text: String) throws(UsageError) {
        guard let equals = text.lastIndex(of: "="), let factor = Double(text[text.index(after: equals)...]), factor > 1, factor <= 1000
        else {
            throw UsageError(
                "--debug-slowdown '\(text)' must be SELECTOR=FACTOR: an implementation (\(Implementation.allCases.map(\.rawValue).joined(separator: ", "))) "
                    + "or a case as `compare` names it, and a factor above 1 such as 1.10")
        }
        selector = text[..<equals].trimmingCharacters(in: .whitespaces)
        self.factor = factor
    }

    public func applies(to key: CaseKey) -> Bool { key.isSelected(by: selector) }

    func applied(to kernel: PreparedKernel) -> PreparedKernel { SlowedKernel(inner: kernel, factor: factor) }
}

private final class SlowedKernel: PreparedKernel {
    let inner: PreparedKernel
    let whole: Int
    let fraction: Double

    init(inner: PreparedKernel, factor: Double) {
        self.inner = inner
        whole = Int(factor.rounded(.down))
        fraction = factor - Double(whole)
    }

    var notes: [String] {
        inner.notes + ["slowed down \(Double(whole) + fraction)x on purpose by --debug-slowdown: each sample counts that many runs of the kernel"]
    }

    func execute() throws -> SampleTime {
        var total = SampleTime(kernelSeconds: 0, wallSeconds: 0)
        for run in 0..<(whole + (fraction > 0 ? 1 : 0)) {
            let time = try inner.execute()
            let weight = run < whole ? 1 : fraction
            total.kernelSeconds += weight * time.kernelSeconds
            total.wallSeconds += weight * time.wallSeconds
        }
        return total
    }

    func result() throws -> [Double] { try inner.result() }

    func outputFingerprint() throws -> String { try inner.outputFingerprint() }
}
