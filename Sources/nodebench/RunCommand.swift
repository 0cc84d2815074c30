import ArgumentParser
import Foundation
import NodeBenchKit

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run verified benchmark cases on every device (or those named) and write a result file.",
        discussion: """
            --shape, --layout, --dtype and the attention options choose cases: each list given \
            replaces the suite's list for that dimension, and every combination runs. GEMM options \
            alone select GEMM, attention options alone attention; --kernel says so explicitly. \
            Exit status: 0 all cases ok or skipped, 1 a case failed or timed out, 3 nothing was \
            measured, 64 usage error, 74 the result file could not be written.
            """)

    @Option(help: "Case set: quick (CI, under a minute), standard, full.")
    var suite: Suite.Name = .standard

    @Option(name: .customLong("kernel"), help: "Kernel to run: gemm, attention (repeatable; default: both, or what the options imply).")
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

    @Option(
        name: .customLong("impl"),
        help: "Implementation: nodebench, clblast, openblas (GEMM); naive, flash (attention) (repeatable; default: all that apply).")
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
            "Debug only: make the selected OpenCL cases fail on purpose (KIND=SELECTOR; kinds: build, allocation, enqueue, hang, bitflip; repeatable).",
            visibility: .hidden),
        transform: { text in
            do { return try PlannedFault(parsing: text) } catch { throw ValidationError("\(error)") }
        })
    var debugFaults: [PlannedFault] = []

    @Option(
        name: .customLong("case-timeout"),
        help: "Seconds one execution of a case may take on an OpenCL device before the device counts as hung.")
    var caseTimeout: Double = Runner.defaultCaseTimeout

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let repetitions, !(1...1000).contains(repetitions) { throw ValidationError("--repetitions must be from 1 to 1000") }
        guard caseTimeout > 0 && caseTimeout <= 86_400 else { throw ValidationError("--case-timeout must be from 0 to 86400 seconds") }
        guard alpha.isFinite, beta.isFinite else { throw ValidationError("--alpha and --beta must be finite numbers") }
        if selectedKernels.contains(.attention) && !dtypes.isEmpty && !dtypes.contains(where: AttentionCase.dtypes.contains) {
            throw ValidationError("attention runs fp32, fp16 and bf16; --dtype \(dtypes.map(\.rawValue).joined(separator: ", ")) leaves it nothing")
        }
        _ = try attention.shapes()
    }

    /// The kernels asked for, or implied: GEMM options alone mean GEMM, attention options alone attention.
    var selectedKernels: Set<KernelKind> {
        if !kernels.isEmpty { return Set(kernels) }
        let gemm = !shapes.isEmpty || !layouts.isEmpty || alpha != 1 || beta != 0
        var implied = Set<KernelKind>()
        if gemm || implementations.contains(where: { $0.kernel == .gemm }) { implied.insert(.gemm) }
        if attention.isGiven || implementations.contains(where: { $0.kernel == .attention }) { implied.insert(.attention) }
        return implied.isEmpty ? Set(KernelKind.allCases) : implied
    }

    func run() throws {
        let step = try modelOptions.trainingStep(seqs: attention.seqs, dtypes: dtypes)
        let sampling = Suite.named(suite).sampling.repeated(repetitions ?? Suite.named(suite).sampling.repetitions)
        let selected = try step?.suite(sampling: sampling) ?? Suite.named(suite).selecting(
            kernels: selectedKernels, shapes: shapes, layouts: layouts, dtypes: dtypes, alpha: alpha, beta: beta,
            attentionShapes: try attention.shapes(), sampling: sampling)
        let tuned = try TuningFiles.parameters(importing: tunedParams)
        let (session, devices, _) = try output.startSession(suite: selected, seed: seed)
        session.trainingStep = step
        if !noPeak { session.measurePeaks(on: devices, policy: selected.peakPolicy) }
        let chosenImplementations = implementations.isEmpty ? Set(Implementation.allCases) : Set(implementations)
        for slowdown in debugSlowdowns {
            Console.note("warning: --debug-slowdown makes '\(slowdown.selector)' \(slowdown.factor)x slower on purpose")
        }
        for fault in debugFaults {
            Console.note("warning: --debug-fault injects a '\(fault.kind.rawValue)' fault into '\(fault.selector)' on purpose")
        }
        session.runCases(
            selected, on: devices, implementations: chosenImplementations, tuned: tuned,
            injections: DebugInjections(slowdowns: debugSlowdowns, faults: debugFaults), caseTimeout: caseTimeout)
        if let blasCoreType, devices.contains(where: \.isHost), chosenImplementations.contains(.openblas) {
            try rerunHost(with: blasCoreType, session)
        }
        try output.finish(session) { document in
            (document.peaks.isEmpty ? "" : PeakReport.table(document.peaks, theoretical: document.theoreticalPeaks) + "\n")
                + RunReport.table(document.results)
                + (document.training ?? []).map { "\n" + TrainingReport.text($0) }.joined()
        }
    }

    /// The host cases again in a child process whose OpenBLAS loads with another core type.
    private func rerunHost(with coreType: String, _ session: RunSession) throws {
        Console.note("[blas] re-running the host cases with OPENBLAS_CORETYPE=\(coreType)")
        var caseArguments = ["--suite", suite.rawValue, "--seed", String(seed)] + (repetitions.map { ["--repetitions", String($0)] } ?? [])
        caseArguments += shapes.flatMap { ["--shape", $0.description] }
        caseArguments += layouts.flatMap { ["--layout", $0.rawValue] }
        caseArguments += dtypes.flatMap { ["--dtype", $0.rawValue] }
        caseArguments += ["--alpha", String(alpha), "--beta", String(beta), "--impl", Implementation.openblas.rawValue]
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        do {
            let (results, warning) = try BLASCoreTypeRerun(coreType: coreType, executable: executable, caseArguments: caseArguments).run()
            if let warning { Console.note("warning: \(warning)") }
            session.append(results)
        } catch {
            Console.note("warning: the OPENBLAS_CORETYPE=\(coreType) re-run failed: \(error)")
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
