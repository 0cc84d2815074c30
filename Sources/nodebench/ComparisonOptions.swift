import ArgumentParser
import Foundation
import NodeBenchKit

/// How `compare` and `check` judge and where they write what CI systems read.
struct ComparisonOptions: ParsableArguments {
    static let defaultThreshold = 0.05

    @Option(help: "Smallest change of a case's time that counts, in percent (e.g. 5%).", transform: parsePercent)
    var threshold: Double = ComparisonOptions.defaultThreshold

    @Option(help: "Also write the comparison as Markdown (a CI job summary or pull-request comment).")
    var markdown: String?

    @Option(help: "Also write the comparison as JUnit XML: each case a test, a regression a failure.")
    var junit: String?

    @Option(name: .customLong("benchmark-json"), help: "Also write the current run for github-action-benchmark (customBiggerIsBetter).")
    var benchmarkJSON: String?

    /// Prints the table and writes the requested files.
    func report(_ comparison: RunComparison, current: RunDocument) throws {
        print(ComparisonReport.table(comparison), terminator: "")
        try write(markdown, Data(ComparisonReport.markdown(comparison).utf8))
        try write(junit, Data(ComparisonReport.junit(comparison).utf8))
        try write(benchmarkJSON, try ComparisonReport.benchmarkJSON(current))
    }

    private func write(_ path: String?, _ data: Data) throws {
        guard let path else { return }
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandFailure(status: .ioError, message: "cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// "5%", "5" or "0.5%" as a fraction.
func parsePercent(_ text: String) throws -> Double {
    let number = text.hasSuffix("%") ? String(text.dropLast()) : text
    guard let value = Double(number), value >= 0, value.isFinite else {
        throw ValidationError("--threshold '\(text)' must be a percentage such as 5%")
    }
    return value / 100
}

/// A result file, or a one-line error with the exit code that says why it cannot be used.
func loadRun(_ path: String, role: String) throws -> RunDocument {
    do {
        return try RunDocument.load(from: URL(fileURLWithPath: path))
    } catch {
        throw CommandFailure(status: .usage, message: "\(role): \(error.description)")
    }
}

/// Result files merged into one document of several runs.
func loadRuns(_ paths: [String], role: String) throws -> RunDocument {
    do {
        return try RunDocument.merging(try paths.map { try loadRun($0, role: role) }, names: paths)
    } catch let error as RunDocument.MergeError {
        throw CommandFailure(status: .usage, message: "\(role): \(error.description)")
    }
}

/// `nodebench run ARGUMENTS` in `runs` child processes one after another, their progress on
/// stderr, merged into one document; a run that could not finish is an error with its exit status.
func runInChildren(_ arguments: [String], runs: Int, tag: String) throws -> RunDocument {
    var documents: [RunDocument] = []
    for run in 1...runs {
        Console.note("[\(tag) \(run)/\(runs)] nodebench run \(arguments.joined(separator: " "))")
        do {
            documents.append(try ChildRun(executable: ChildRun.currentExecutable, arguments: arguments, progress: FileHandle.standardError).run().document)
        } catch let failure as ChildRun.Failure {
            throw CommandFailure(status: ExitStatus(rawValue: failure.status) ?? .caseFailed, message: failure.description)
        }
    }
    do {
        return try RunDocument.merging(documents, names: (1...runs).map { "run \($0)" })
    } catch {
        throw CommandFailure(status: .caseFailed, message: "\(tag): \(error.description)")
    }
}
