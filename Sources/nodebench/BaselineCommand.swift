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
        var runs = Baseline.defaultRuns

        @Option(help: "Folder of the baselines.")
        var directory = Baseline.defaultDirectory

        @Argument(parsing: .postTerminator, help: "`nodebench run` options for the runs it makes.")
        var runArguments: [String] = []

        func validate() throws {
            guard (1...100).contains(runs) else { throw ValidationError("--runs must be from 1 to 100") }
            do { try Baseline.validate(name: name) } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            let document = from.isEmpty
                ? try ChildRun.runs(
                    runArguments.isEmpty ? Baseline.defaultRunArguments : runArguments, count: runs, tag: "baseline", progress: FileHandle.standardError,
                    log: Console.note)
                : try RunDocument.load(paths: from, role: "--from")
            if document.tool.buildConfiguration == "debug" {
                Console.note("warning: this baseline was measured by a debug build; its timings are not representative")
            }
            let url = try Baseline.save(document, name: name, directory: directory)
            print(ComparisonReport.protection(document, currentRuns: RunComparison.defaultCheckRuns, threshold: RunComparison.defaultThreshold), terminator: "")
            if document.runCount == 1 { Console.note("warning: \(ComparisonReport.caveat(runs: 1)!)") }
            print("baseline saved: \(url.path) (\(document.results.count) cases, \(document.runCount) run(s), suite \(document.suite))")
        }
    }
}
