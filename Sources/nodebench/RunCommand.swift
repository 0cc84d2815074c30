import ArgumentParser
import Foundation
import NodeBenchKit

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run verified benchmark cases on every device (or those named) and write a result file.",
        discussion: """
            --shape, --layout and --dtype choose cases: each list given replaces the suite's list for \
            that dimension, and every combination runs. Exit status: 0 all cases ok or skipped, \
            1 a case failed, 64 usage error, 74 the result file could not be written.
            """)

    @Option(help: "Case set: quick (CI, under a minute), standard, full.")
    var suite: Suite.Name = .standard

    @Option(name: .customLong("device"), help: "Device id from `nodebench devices` (repeatable; default: all).")
    var devices: [String] = []

    @Option(help: "Kernel to run.")
    var kernel: KernelName = .gemm

    @Option(name: .customLong("shape"), help: "GEMM shape MxNxK (repeatable).", transform: parseShape)
    var shapes: [GEMMShape] = []

    @Option(name: .customLong("layout"), help: "GEMM layout: NN, NT, TN (repeatable).")
    var layouts: [GEMMLayout] = []

    @Option(name: .customLong("dtype"), help: "Element type: fp32, fp64, fp16, bf16 (repeatable).")
    var dtypes: [DType] = []

    @Option(help: "Seed of the random inputs.")
    var seed: UInt64 = 42

    @Option(help: "Result file (default: results/runs/<host>-<time>.json).")
    var output: String?

    @Flag(help: "Print the result JSON on stdout instead of the table.")
    var json = false

    func run() throws {
        Interruption.stopOnSignals()
        let inventory = NodeInventory.discover()
        let chosenDevices = devices.isEmpty ? inventory.devices : try inventory.devices(withIDs: devices)
        let selected = Suite.named(suite).selecting(shapes: shapes, layouts: layouts, dtypes: dtypes)
        let tool = ToolInfo.current
        Console.warnIfDebugBuild(tool)
        Console.note(inventory.accelerationSummary)
        for problem in inventory.problems { Console.note("warning: \(problem)") }

        let url = output.map { URL(fileURLWithPath: $0) }
            ?? ResultsFile.defaultURL(host: inventory.host.hostname, in: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        var document = RunDocument(
            tool: tool, suite: selected.name, seed: seed, sampling: selected.sampling, node: NodeDescription(inventory))
        let file: ResultsFile
        do {
            file = try ResultsFile(url: url)
            try file.write(document)
        } catch {
            throw CommandFailure(status: .ioError, message: "cannot write results to \(url.path): \(error.localizedDescription)")
        }

        let runner = Runner(suite: selected, devices: chosenDevices, inventory: inventory, seed: seed)
        var writeError: Error?
        runner.run(
            onStart: { progress in
                Console.note("[\(progress.index)/\(progress.total)] \(progress.device) \(progress.gemm)")
            },
            onResult: { result in
                document.results.append(result)
                if result.status != .ok { Console.note("  \(result.status.rawValue): \(result.reason ?? "")") }
                do { try file.write(document) } catch { writeError = error }
            })
        document.complete = true
        document.finishedAt = Timestamp.now()
        do { try file.write(document) } catch { writeError = error }

        if json {
            print(String(decoding: try RunDocument.encoder.encode(document), as: UTF8.self))
        } else {
            print(RunReport.table(document.results), terminator: "")
        }
        Console.note("\(RunReport.summary(document.results)); results in \(url.path)")
        if let writeError {
            throw CommandFailure(status: .ioError, message: "cannot write results to \(url.path): \(writeError.localizedDescription)")
        }
        if document.results.contains(where: { $0.status == .failed }) { throw ExitCode(ExitStatus.caseFailed.rawValue) }
    }
}

/// Ctrl-C and `kill` stop a run at once: the result file on disk always holds every finished case.
/// A parent may hand us these signals ignored (a background job) or blocked (a test harness's
/// thread), so the handler is installed and the signals unblocked explicitly.
enum Interruption {
    static func stopOnSignals() {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { received in _exit(128 + received) }
            sigaddset(&signals, signalNumber)
        }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }
}
