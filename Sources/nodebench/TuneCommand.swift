import ArgumentParser
import Foundation
import NodeBenchKit

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search the GEMM or flash attention kernel's parameters on an OpenCL device and keep the fastest correct ones.",
        discussion: """
            Results go to the tuning cache ($XDG_CACHE_HOME/nodebench/tuned-gemm.json or \
            ~/.cache/nodebench/tuned-gemm.json), which `run` reads; --tuned-params FILE also writes \
            them to FILE for other nodes (`run --tuned-params FILE`).
            """)

    @Option(help: "OpenCL device id from `nodebench devices`.")
    var device: String

    @Option(help: "Kernel to tune: gemm, or attention (the flash kernel).")
    var kernel: KernelKind = .gemm

    @Option(name: .customLong("head-dim"), help: "Attention head dimensions to tune (repeatable; default 64, 128).")
    var headDims: [Int] = [64, 128]

    @Option(name: .customLong("dtype"), help: "Element types to tune (repeatable; default fp32).")
    var dtypes: [DType] = [.fp32]

    @Option(name: .customLong("layout"), help: "Layouts to tune (repeatable; default NN, which the others fall back to).")
    var layouts: [GEMMLayout] = [.nn]

    @Option(name: .customLong("size-class"), help: "Size classes to tune: small, medium, large (repeatable; default medium, large).")
    var sizeClasses: [SizeClass] = [.medium, .large]

    @Option(help: "Seconds to spend in all, shared evenly by the targets.")
    var budget: Double = 120

    @Option(name: .customLong("tuned-params"), help: "Also write the results to this file (merged into it if it exists).")
    var tunedParams: String?

    func validate() throws {
        guard budget > 0, budget.isFinite else { throw ValidationError("--budget must be a positive number of seconds") }
        guard kernel != .layer else { throw ValidationError("the layer ops have nothing to tune: tune gemm or attention") }
        if kernel == .attention {
            guard dtypes.allSatisfy(AttentionCase.dtypes.contains) else { throw ValidationError("attention runs fp32, fp16 and bf16") }
            for headDim in headDims {
                do { _ = try FlashTuner.tuningShape(headDim: headDim) } catch { throw ValidationError(error.description) }
            }
        }
    }

    func run() throws {
        Interruption.stopOnSignals()
        let inventory = NodeInventory.discover()
        guard let chosen = try inventory.devices(withIDs: [device]).first else { return }
        var store = try TuningStore(exportingTo: tunedParams) { Console.note("warning: \($0)") }
        if kernel == .attention {
            try tuneFlash(chosen, inventory, &store)
        } else {
            try tuneGEMM(chosen, inventory, &store)
        }
        Console.note("tuning cache: \(store.cacheURL.path)" + (store.exportURL.map { "; exported to \($0.path)" } ?? ""))
    }

    private func tuneGEMM(_ chosen: DeviceDescriptor, _ inventory: NodeInventory, _ store: inout TuningStore) throws {
        let tuner = try GEMMTuner(device: chosen, inventory: inventory)
        let targets = dtypes.flatMap { dtype in layouts.flatMap { layout in sizeClasses.map { (dtype, layout, $0) } } }
        var table = TextTable([
            ("dtype", .left), ("layout", .left), ("size", .left), ("parameters", .left), ("GFLOP/s", .right), ("tuning shape", .left),
        ])
        for (dtype, layout, sizeClass) in targets {
            Console.note("[tune] \(chosen.id) \(dtype.rawValue) \(layout.rawValue) \(sizeClass.rawValue) on \(sizeClass.tuningShape)")
            let entry = tuner.tune(dtype: dtype, layout: layout, sizeClass: sizeClass, budgetSeconds: budget / Double(targets.count)) {
                report($0)
            }
            guard let entry else {
                Console.note("  no candidate ran correctly for \(dtype.rawValue) \(layout.rawValue) \(sizeClass.rawValue)")
                continue
            }
            try store.record { $0.record(entry) }
            table.add([
                dtype.rawValue, layout.rawValue, sizeClass.rawValue, entry.parameters.description, String(format: "%.1f", entry.gflops),
                sizeClass.tuningShape.description,
            ])
        }
        print(table.render(), terminator: "")
    }

    private func tuneFlash(_ chosen: DeviceDescriptor, _ inventory: NodeInventory, _ store: inout TuningStore) throws {
        let tuner = try FlashTuner(device: chosen, inventory: inventory)
        let targets = dtypes.flatMap { dtype in headDims.map { (dtype, $0) } }
        var table = TextTable([("dtype", .left), ("head dim", .right), ("parameters", .left), ("GFLOP/s", .right), ("tuning case", .left)])
        for (dtype, headDim) in targets {
            let shape = try tuner.timedShape(headDim: headDim)
            Console.note("[tune] \(chosen.id) flash attention \(dtype.rawValue) on \(shape)")
            let entry = try tuner.tune(dtype: dtype, headDim: headDim, budgetSeconds: budget / Double(targets.count)) { report($0) }
            guard let entry else {
                Console.note("  no candidate ran correctly for \(dtype.rawValue) d\(headDim)")
                continue
            }
            try store.record { $0.record(entry) }
            table.add([dtype.rawValue, String(headDim), entry.parameters.description, String(format: "%.1f", entry.gflops), shape.description])
            if let backward = entry.backwardGFLOPs {
                let rows = entry.parameters.keyRows.map { "TK=\($0)" } ?? "default"
                table.add(["", "", "  backward key rows \(rows)", String(format: "%.1f", backward), "\(shape) backward"])
            }
            for block in entry.keyBlocks {
                let group = block.groupSize.map { ", WG=\($0)" } ?? ""
                table.add(["", "", "  key block \(block.keyBlock.map(String.init) ?? "cache rule")\(group)", String(format: "%.1f", block.gflops), "s\(block.seq) causal"])
            }
        }
        print(table.render(), terminator: "")
    }

    private func report<Parameters>(_ step: TuningProgress<Parameters>) {
        let outcome: String
        switch step.outcome {
        case .success(let gflops): outcome = String(format: "%.1f GFLOP/s", gflops)
        case .failure(let error): outcome = "dropped: \(error)"
        }
        Console.note("  [\(step.index)/\(step.total)] \(step.parameters) on \(step.timedOn): \(outcome)")
    }
}
