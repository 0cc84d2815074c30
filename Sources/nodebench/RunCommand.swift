import ArgumentParser
import Foundation
import NodeBenchKit

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run verified benchmark cases on every device (or those named) and write a result file.",
        discussion: """
            --shape, --layout, --dtype, the attention and the layer-op options choose cases: each \
            list given replaces the suite's list for that dimension, and every combination runs. \
            GEMM options alone select GEMM, attention options attention, layer-op options the layer \
            ops; --kernel says so explicitly. --pass applies to attention and layer ops. \
            Exit status: 0 all cases ok or skipped, 1 a case failed or timed out, 3 nothing was \
            measured, 64 usage error, 74 the result file could not be written.
            """)

    @Option(help: "Case set: quick (CI, under a minute), standard, full.")
    var suite: Suite.Name = .standard

    @Option(name: .customLong("kernel"), help: "Kernel to run: gemm, attention, layer (repeatable; default: all, or what the options imply).")
    var kernels: [KernelKind] = []

    @Option(name: .customLong("shape"), help: "GEMM shape MxNxK (repeatable).", transform: parseShape)
    var shapes: [GEMMShape] = []

    @Option(name: .customLong("layout"), help: "GEMM layout: NN, NT, TN (repeatable).")
    var layouts: [GEMMLayout] = []

    @Option(name: .customLong("dtype"), help: "Element type: fp32, fp64, fp16, bf16 (repeatable).")
    var dtypes: [DType] = []

    @Option(help: "Scale of the product: C = alpha·op(A)·op(B) + beta·C.")
    var alpha: Double = 1

    @Option(help: "Scale of C's old values; non-zero makes C an input too (seeded).")
    var beta: Double = 0

    @OptionGroup(title: "Attention")
    var attention: AttentionOptions

    @OptionGroup(title: "Layer ops")
    var layerOps: LayerOpOptions

    @Option(
        name: .customLong("impl"),
        help: "Implementation: nodebench, clblast, openblas (GEMM); naive, flash (attention); stream (layer ops) (repeatable; default: all that apply).")
    var implementations: [Implementation] = []

    @OptionGroup(title: "Transformer model")
    var modelOptions: ModelOptions

    @Option(help: "Times each case is measured, spread over the run in shuffled rounds (default: the suite's).")
    var repetitions: Int?

    @Option(help: "Seed of the random inputs.")
    var seed: UInt64 = 42

    @Flag(name: .customLong("no-peak"), help: "Skip the peak probes (cases then show no % of peak).")
    var noPeak = false

    @Option(
        name: .customLong("blas-coretype"),
        help: "Also run the host cases with OPENBLAS_CORETYPE set to this (e.g. SkylakeX), side by side.")
    var blasCoreType: String?

    @Option(
        name: .customLong("tuned-params"),
        help: "GEMM kernel parameters from `nodebench tune --tuned-params FILE` (default: the tuning cache).")
    var tunedParams: String?

    @Option(
        name: .customLong("debug-slowdown"),
        help: ArgumentHelp(
            "Debug only: make an implementation or one case FACTOR times slower (SELECTOR=FACTOR; repeatable), to prove a regression gate.",
            visibility: .hidden),
        transform: { text in
            do { return try InjectedSlowdown(parsing: text) } catch { throw ValidationError("\(error)") }
        })
    var debugSlowdowns: [InjectedSlowdown] = []

    @Option(
        name: .customLong("debug-fault"),
        help: ArgumentHelp(
            "Debug only: make the selected OpenCL cases fail on purpose (KIND=SELECTOR; kinds: build, allocation, enqueue, hang, bitflip, stuckbit; selectors: all, an implementation or a case; repeatable).",
            visibility: .hidden),
        transform: { text in
            do { return try PlannedFault(parsing: text) } catch { throw ValidationError("\(error)") }
        })
    var debugFaults: [PlannedFault] = []

    @Option(
        name: .customLong("case-timeout"),
        help: "Seconds one execution of a case may take on an OpenCL device before the device counts as hung.")
    var caseTimeout: Double = Runner.defaultCaseTimeout

    @Option(
        name: .customLong("burn-in"),
        help: ArgumentHelp(
            "After the cases, keep each device under GEMM load this long (90s, 10m, 1h): a fall in throughput is reported as throttling.",
            valueName: "duration"),
        transform: parseDuration)
    var burnIn: Double?

    @Option(help: ArgumentHelp("A whole run request as JSON, as a parent run hands it to a child run.", visibility: .hidden))
    var request: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        do { try runRequest().validate() } catch { throw ValidationError(error.description) }
    }

    /// What the options ask for; `--request` replaces them all.
    func runRequest() throws(UsageError) -> RunRequest {
        if let request { return try RunRequest(decoding: request) }
        return RunRequest(
            suite: suite, kernels: kernels, shapes: shapes, layouts: layouts, dtypes: dtypes, alpha: alpha, beta: beta,
            attention: attention.dimensions, passes: attention.pass?.passes ?? [], layerOps: layerOps.dimensions,
            implementations: implementations, model: modelOptions.choice, devices: output.devices,
            repetitions: repetitions, seed: seed, measurePeaks: !noPeak, blasCoreType: blasCoreType, tunedParameters: tunedParams,
            caseTimeout: caseTimeout, burnIn: burnIn, slowdowns: debugSlowdowns, faults: debugFaults)
    }

    func run() throws {
        let request = try runRequest()
        let suite = try request.cases()
        let tuned = try TuningStore.parameters(importing: request.tunedParameters) { Console.note("warning: \($0)") }
        let (session, devices) = try output.startSession(suite: suite, seed: request.seed, deviceIDs: request.devices)
        try session.run(request, cases: suite, on: devices, tuned: tuned)
        try output.finish(session) { document in
            (document.peaks.isEmpty ? "" : PeakReport.table(document.peaks, theoretical: document.theoreticalPeaks) + "\n")
                + RunReport.table(document.results)
                + RunReport.stages(document.results)
                + (document.training ?? []).map { "\n" + TrainingReport.text($0) }.joined()
                + (document.burnIn.map { "\nBurn-in:\n" + $0.map { "  \($0.summary)\n" }.joined() } ?? "")
        }
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
