import ArgumentParser
import Foundation
import NodeBenchKit

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Read a result file: every case's devices side by side, or one self-contained HTML page.",
        discussion: "With BASELINE, the report also compares the run with it. The HTML page needs no network to open.")

    @Argument(help: "The result file.")
    var runFile: String

    @Argument(help: "A baseline result file to compare with.")
    var baseline: String?

    @Option(help: "Write the HTML report here instead of printing the table.")
    var html: String?

    @Option(help: "Smallest change of a case's time that counts, in percent.", transform: parsePercent)
    var threshold: Double = RunComparison.defaultThreshold

    func run() throws {
        let document = try RunDocument.load(path: runFile, role: "run")
        let comparison = try baseline.map {
            RunComparison(
                baseline: try RunDocument.load(path: $0, role: "baseline"), named: $0, current: document, named: runFile, threshold: threshold)
        }
        guard let html else {
            print(RunReport.table(document.results) + RunReport.stages(document.results), terminator: "")
            if let comparison { print("\n" + ComparisonReport.table(comparison), terminator: "") }
            return
        }
        try OutputFile.write(HTMLReport.render(document, comparison: comparison), to: html)
        Console.note("report written to \(html)")
    }
}
