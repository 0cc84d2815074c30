import Foundation

/// Baselines kept for `check`: several runs of one machine type merged into one file under
/// `results/baselines/`, named by what determines its speed (`zen3-2core-pocl3.1`).
public enum Baseline {
    public static let defaultDirectory = "results/baselines"
    /// Runs `baseline save` makes by default: enough to know each case's noise between runs.
    public static let defaultRuns = 10
    /// What those runs measure unless told otherwise: the standard suite, without peaks (a
    /// baseline guards cases; peaks only add minutes).
    public static let defaultRunArguments = ["--no-peak"]

    /// What `check` measures unless told otherwise: the baseline's own suite, without peaks.
    public static func checkRunArguments(suite: String) -> [String] { ["--suite", suite, "--no-peak"] }

    /// Letters, digits, '-', '_' and '.', not starting with '.': a file name in any shell.
    public static func validate(name: String) throws(UsageError) {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.hasPrefix(".") else {
            throw UsageError("baseline name '\(name)' may use only letters, digits, '-', '_' and '.'")
        }
    }

    /// Writes `document` as `directory/NAME.json`, keeping each repetition's median but not the raw
    /// samples; returns where.
    public static func save(_ document: RunDocument, name: String, directory: String) throws(CommandFailure) -> URL {
        do { try validate(name: name) } catch { throw CommandFailure(status: .usage, message: error.description) }
        let url = URL(fileURLWithPath: directory).appendingPathComponent("\(name).json")
        let data: Data
        do {
            data = try RunDocument.encoder.encode(document.withoutRawSamples)
        } catch {
            throw CommandFailure(status: .ioError, message: "cannot encode the baseline: \(error.localizedDescription)")
        }
        try OutputFile.write(data, to: url)
        return url
    }
}
