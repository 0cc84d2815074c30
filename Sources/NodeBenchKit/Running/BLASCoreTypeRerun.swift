import Foundation

/// Re-runs the host cases in a child process with `OPENBLAS_CORETYPE` set: OpenBLAS reads it only
/// when the library loads, so it cannot change within this process.
public struct BLASCoreTypeRerun {
    public let coreType: String
    public let executable: URL
    /// `run` arguments that select the same cases (suite, shapes, layouts, dtypes, seed).
    public let caseArguments: [String]

    public init(coreType: String, executable: URL, caseArguments: [String]) {
        self.coreType = coreType
        self.executable = executable
        self.caseArguments = caseArguments
    }

    public var variant: String { "OPENBLAS_CORETYPE=\(coreType)" }

    /// The child's host results, marked with the variant; a warning when OpenBLAS chose another core.
    public func run() throws -> (results: [CaseResult], warning: String?) {
        let child = try ChildRun(
            executable: executable, arguments: ["--device", DeviceDescriptor.hostID, "--no-peak"] + caseArguments,
            environment: ["OPENBLAS_CORETYPE": coreType]
        ).run().document
        let chosen = child.node.blas.coreName
        let warning = chosen.lowercased() == coreType.lowercased()
            ? nil : "OpenBLAS did not take OPENBLAS_CORETYPE=\(coreType): it chose \(chosen) (names: Haswell, SkylakeX, Cooperlake, Zen, ...)"
        let results = child.results.map { result -> CaseResult in
            var marked = result
            marked.variant = variant
            marked.notes.append("OpenBLAS core \(chosen)")
            return marked
        }
        return (results, warning)
    }
}
