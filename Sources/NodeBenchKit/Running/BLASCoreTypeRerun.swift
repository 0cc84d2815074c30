import Foundation

/// Re-runs the host cases in a child process with `OPENBLAS_CORETYPE` set: OpenBLAS reads it only
/// when the library loads, so it cannot change within this process.
struct BLASCoreTypeRerun {
    let coreType: String
    /// The request whose host OpenBLAS cases run again.
    let request: RunRequest

    var variant: String { "OPENBLAS_CORETYPE=\(coreType)" }

    /// The child's host results, marked with the variant; a warning when OpenBLAS chose another core.
    func run() throws -> (results: [CaseResult], warning: String?) {
        let child = try ChildRun(
            executable: ChildRun.currentExecutable, arguments: ["--request", try request.hostRerun.encoded()],
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
