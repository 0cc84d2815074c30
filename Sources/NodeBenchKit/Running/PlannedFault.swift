import OpenCLKit

/// A device fault made on purpose in the selected OpenCL cases (`run --debug-fault KIND=SELECTOR`),
/// to prove that a run reports it: a failed build, allocation or launch, a hung kernel, a flipped
/// result bit. The warning at the start of the run and the case's reason say so.
public struct PlannedFault: Codable, Sendable, Equatable {
    public let kind: InjectedFault
    /// An implementation (`nodebench`: all its cases) or one case as comparisons name it.
    public let selector: String

    /// Parses `hang=nodebench` or `bitflip=opencl:0:0 flash attention fp32 b1 h2 s128 d64`.
    public init(parsing text: String) throws(UsageError) {
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let kind = InjectedFault(rawValue: parts[0]), !parts[1].isEmpty else {
            throw UsageError(
                "--debug-fault '\(text)' must be KIND=SELECTOR: a kind (\(InjectedFault.allCases.map(\.rawValue).joined(separator: ", "))) "
                    + "and an implementation or a case as `compare` names it")
        }
        self.kind = kind
        selector = parts[1]
    }

    public func applies(to key: CaseKey) -> Bool { key.isSelected(by: selector) }
}

/// What `--debug-slowdown` and `--debug-fault` ask a run to do on purpose.
public struct DebugInjections: Sendable {
    public var slowdowns: [InjectedSlowdown]
    public var faults: [PlannedFault]

    public init(slowdowns: [InjectedSlowdown] = [], faults: [PlannedFault] = []) {
        self.slowdowns = slowdowns
        self.faults = faults
    }

    /// The selectors that matched none of `results`, for a warning.
    func unmatchedSelectors(_ results: ArraySlice<CaseResult>) -> [String] {
        let keys = results.map(CaseKey.init)
        let selectors = slowdowns.map(\.selector) + faults.map(\.selector)
        return selectors.filter { selector in !keys.contains { $0.isSelected(by: selector) } }
    }
}
