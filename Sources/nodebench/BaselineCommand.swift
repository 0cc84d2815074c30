import ArgumentParser
import Foundation
import NodeBenchKit

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Keep baselines for `check`: one file of several runs per machine type under results/baselines/.",
        subcommands: [Save.self])

    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save several runs as results/baselines/NAME.json (result files, or runs made now).",
            discussion: """
                Name baselines by machine type, e.g. h100-sxm-driver550 or zen3-2core-pocl3.1; commit them. \
                A baseline keeps each repetition's median, not the raw samples.
                """)

        @Argument(help: "Baseline name: letters, digits, '-', '_' and '.'.")
        var name: String

        @Option(
            name: .customLong("from"), parsing: .upToNextOption,
            help: "Result files of runs to keep as one baseline (default: run the standard suite --runs times now).")
        var from: [String] = []

        @Option(help: "Runs to make, each its own process: the more, the better the baseline knows its noise between runs.")
        var runs = 10

        @Option(help: "Folder of the baselines.")
        var directory = "results/baselines"

        @Argument(parsing: .postTerminator, help: "`nodebench run` options for the runs it makes.")
        var runArguments: [String] = []

        func validate() throws {
            guard (1...100).contains(runs) else { throw ValidationError("--runs must be from 1 to 100") }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.hasPrefix(".") else {
                throw ValidationError("baseline name '\(name)' may use only letters, digits, '-', '_' and '.'")
            }
        }

        func run() throws {
            let document = from.isEmpty
                ? try runInChildren(runArguments.isEmpty ? ["--no-peak"] : runArguments, runs: runs, tag: "baseline")
                : try loadRuns(from, role: "--from")
            if document.tool.buildConfiguration == "debug" {
                Console.note("warning: this baseline was measured by a debug build; its timings are not representative")
            }
            let url = URL(fileURLWithPath: directory).appendingPathComponent("\(name).json")
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try RunDocument.encoder.encode(document.withoutRawSamples).write(to: url, options: .atomic)
            } catch {
                throw CommandFailure(status: .ioError, message: "cannot write \(url.path): \(error.localizedDescription)")
            }
            print(ComparisonReport.protection(document, currentRuns: CheckCommand.defaultRuns, threshold: ComparisonOptions.defaultThreshold), terminator: "")
            if document.runCount == 1 { Console.note("warning: \(ComparisonReport.caveat(runs: 1)!)") }
            print("baseline saved: \(url.path) (\(document.results.count) cases, \(document.runCount) run(s), suite \(document.suite))")
        }
    }
}
