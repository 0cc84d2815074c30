import Foundation
import Testing

/// The built `nodebench` executable, run as a user would, on the real PoCL device and OpenBLAS.
struct NodeBenchProcess {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
        var stderrLines: [Substring] { stderr.split(separator: "\n") }
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Beside the test bundle in the build folder: the test target depends on the executable.
    static let executable: URL = {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("nodebench")
    }()

    /// A cache folder of the tests' own, so tuning and program caches start empty and stay here.
    static let cacheHome = FileManager.default.temporaryDirectory.appendingPathComponent("nodebench-tests-cache-\(UUID())")

    static func run(_ arguments: [String], environment: [String: String] = [:], wrapper: [String] = []) throws -> Outcome {
        let process = Process()
        if wrapper.isEmpty {
            process.executableURL = executable
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = wrapper + [executable.path] + arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": cacheHome.path]) { $1 }
            .merging(environment) { $1 }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nodebench-cli-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out"), err = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.currentDirectoryURL = directory
        try process.run()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8))
    }

    /// scripts/validate-json on `file`: the published schema must accept what the tool writes.
    static func validate(_ file: URL, devices: Bool = false, fleet: Bool = false) throws -> Outcome {
        let process = Process()
        process.executableURL = packageRoot.appendingPathComponent("scripts/validate-json")
        process.arguments = (devices ? ["--devices"] : []) + (fleet ? ["--fleet"] : []) + [file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: output, stderr: "")
    }
}

func temporaryFile(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("nodebench-\(UUID())-\(name)")
}

func jsonObject(_ data: Data) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

@Suite struct DevicesCommandTests {
    @Test func listsTheHostAndThePoCLDeviceAsJSON() throws {
        let outcome = try NodeBenchProcess.run(["devices", "--json"])
        #expect(outcome.status == 0)
        let document = try jsonObject(Data(outcome.stdout.utf8))
        #expect(document["schemaVersion"] as? Int == 5)
        let devices = try #require(document["devices"] as? [[String: Any]])
        #expect(devices.first?["id"] as? String == "host")
        #expect(devices.first?["backend"] as? String == "blas")
        let openCL = try #require(devices.first { ($0["id"] as? String)?.hasPrefix("opencl:") == true })
        #expect(openCL["backend"] as? String == "opencl")
        #expect(openCL["type"] as? String == "cpu")
        #expect((openCL["name"] as? String)?.isEmpty == false)
        #expect(document["gpuFound"] as? Bool == false)

        let file = temporaryFile("devices.json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(outcome.stdout.utf8).write(to: file)
        let validation = try NodeBenchProcess.validate(file, devices: true)
        #expect(validation.status == 0, "\(validation.stdout)")
    }

    @Test func describesTheNodeForAPerson() throws {
        let outcome = try NodeBenchProcess.run(["devices"])
        #expect(outcome.status == 0)
        for expected in ["CPU", "BLAS", "OpenBLAS", "OpenCL", "host", "opencl:0:0", "no GPU found"] {
            #expect(outcome.stdout.contains(expected), "missing \(expected)")
        }
    }

    @Test func withoutAnyOpenCLPlatformItRunsOnTheHostAlone() throws {
        let empty = temporaryFile("vendors")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let environment = ["OCL_ICD_VENDORS": empty.path]

        let devices = try NodeBenchProcess.run(["devices", "--json"], environment: environment)
        #expect(devices.status == 0)
        let document = try jsonObject(Data(devices.stdout.utf8))
        #expect((document["devices"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["host"])
        #expect((document["summary"] as? String)?.contains("no OpenCL device found, and no GPU") == true)
        #expect((document["problems"] as? [String])?.isEmpty == true)

        let run = try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--suite", "quick", "--shape", "8x9x10", "--dtype", "fp32", "--layout", "NN"], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("no OpenCL device found"))
        #expect(run.stdout.contains("host") && !run.stdout.contains("opencl:"))
    }
}

@Suite struct RunCommandTests {
    @Test func runsVerifiedCasesOnEveryDeviceAndWritesValidResults() throws {
        let file = temporaryFile("run.json")
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try NodeBenchProcess.run([
            "run", "--suite", "quick", "--shape", "33x17x9", "--layout", "NT", "--layout", "TN", "--dtype", "fp32",
            "--dtype", "bf16", "--seed", "9", "--impl", "nodebench", "--impl", "openblas", "--output", file.path,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let rows = outcome.stdout.split(separator: "\n").filter {
            ($0.hasPrefix("host ") || $0.hasPrefix("opencl:")) && $0.contains(" gemm ")
        }
        #expect(rows.count == 8)  // 2 devices x 2 layouts x 2 types
        #expect(rows.allSatisfy { $0.contains("passed (full)") && $0.hasSuffix("ok") })
        // 8 cases verified, then timed in the quick suite's 10 rounds (more if the machine was disturbed).
        #expect(outcome.stderr.contains("[1/88 ") && outcome.stderr.contains("] verify host openblas gemm fp32 NT 33x17x9"))
        #expect(outcome.stderr.contains(" elapsed") && outcome.stderr.contains("] time 10/1"))

        let document = try jsonObject(Data(contentsOf: file))
        #expect(document["complete"] as? Bool == true)
        #expect(document["seed"] as? Int == 9)
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(Set(results.compactMap { $0["device"] as? String }) == ["host", "opencl:0:0"])
        #expect(results.allSatisfy { ($0["gflops"] as? Double ?? 0) > 0 })
        let validation = try NodeBenchProcess.validate(file)
        #expect(validation.status == 0, "\(validation.stdout)")
    }

    @Test func theQuickSuiteRunsWhole() throws {
        let file = temporaryFile("quick.json")
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try NodeBenchProcess.run(["run", "--repetitions", "1", "--suite", "quick", "--output", file.path])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let document = try jsonObject(Data(contentsOf: file))
        let results = try #require(document["results"] as? [[String: Any]])
        // Nine GEMM cases: host BLAS, NodeBench and CLBlast on PoCL; four attention cases: naive
        // and flash on the host and on PoCL; 7 layer ops in 2 passes and 3 types on both.
        let layerCases = 7 * 2 * 3 * 2
        #expect(results.count == 9 * 3 + 4 * 4 + layerCases)
        let attention = results.filter { $0["kernel"] as? String == "attention" }
        #expect(attention.count == 16 && attention.allSatisfy { $0["status"] as? String == "ok" })
        // Every output after the first device's is compared with it: CPU and OpenCL side by side.
        #expect(attention.filter { $0["crossCheck"] != nil }.count == 12)
        let layer = results.filter { $0["kernel"] as? String == "layer" }
        let crossChecked = layer.filter { $0["crossCheck"] != nil }.count
        #expect(layer.allSatisfy { $0["status"] as? String == "ok" } && crossChecked == layerCases / 2)
        let notOK = results.filter { $0["status"] as? String != "ok" }
        // CLBlast has no bf16 GEMM, and its fp16 GEMM needs cl_khr_fp16, which PoCL lacks here.
        #expect(notOK.count == 2 && notOK.allSatisfy { $0["implementation"] as? String == "clblast" && $0["status"] as? String == "skipped" })
        #expect(try NodeBenchProcess.validate(file).status == 0)
    }

    @Test func oneCaseAsTheREADMEShowsIt() throws {
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--kernel", "gemm", "--shape", "1000x3000x17", "--layout", "NT", "--dtype", "fp32", "--device", "host",
            "--json", "--no-peak",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let document = try jsonObject(Data(outcome.stdout.utf8))
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.count == 1)
        let result = try #require(results.first)
        #expect(result["device"] as? String == "host" && result["layout"] as? String == "NT")
        #expect((result["shape"] as? [String: Int]) == ["m": 1000, "n": 3000, "k": 17])
        #expect((result["verification"] as? [String: Any])?["passed"] as? Bool == true)
    }

    /// A first run compiles every kernel: the terminal shows the run's own lines, not the OpenCL
    /// compiler's (on an AVX2 CPU PoCL counted its ABI notes on each 16-float GEMM tile).
    @Test func aFirstRunPrintsOnlyItsOwnLines() throws {
        let freshCache = temporaryFile("fresh-cache")
        defer { try? FileManager.default.removeItem(at: freshCache) }
        let outcome = try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--kernel", "gemm", "--kernel", "attention", "--impl", "nodebench", "--impl", "flash", "--shape", "64x64x64",
             "--seq", "64", "--head-dim", "64", "--dtype", "fp32", "--device", "opencl:0:0", "--no-peak", "--output", temporaryFile("first.json").path],
            environment: ["XDG_CACHE_HOME": freshCache.path])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let own = ["[", "no GPU found", "warning: this is a DEBUG build"]
        let foreign = outcome.stderrLines.filter { line in !own.contains { line.hasPrefix($0) } && !line.contains(" ok, 0 failed, 0 skipped; results in ") }
        #expect(foreign.isEmpty, "\(foreign)")
    }

    @Test(arguments: [
        (["run", "--shape", "0x5x5"], "between 1 and"),
        (["run", "--shape", "1x1"], "MxNxK"),
        (["run", "--dtype", "fp7"], "'fp32', 'fp64', 'fp16' or 'bf16'"),
        (["run", "--device", "nope"], "devices on this node: host, opencl:0:0"),
        (["run", "--layout", "XY"], "'NN', 'NT' or 'TN'"),
        (["run", "--suite", "huge"], "'quick', 'standard', 'full' or 'screen'"),
        (["frobnicate"], "frobnicate"),
        (["run", "--burn-in", "10x"], "'10x' is not a duration"),
        (["run", "--burn-in", "48h"], "--burn-in must be from 1 second to 24 hours"),
        (["run", "--kernel", "attention", "--seq", "0"], "--seq 0: must be between 1 and"),
        (["run", "--heads", "6", "--kv-heads", "4"], "must be a multiple of --kv-heads"),
        (["run", "--kernel", "attention", "--dtype", "fp64"], "attention runs fp32, fp16 and bf16"),
        (["run", "--kernel", "matmul"], "'gemm', 'attention' or 'layer'"),
        (["run", "--op", "softmax"], "unknown layer op 'softmax': use one of rmsnorm, layernorm, gelu, swiglu, residual, rotary, cross-entropy"),
        (["run", "--kernel", "layer", "--rows", "0"], "--rows 0: must be between 1 and"),
        (["run", "--op", "rotary", "--width", "100"], "rotary turns heads of 128 values: --width 100 must be a multiple"),
        (["run", "--kernel", "layer", "--dtype", "fp64"], "layer ops run fp32, fp16 and bf16"),
        (["tune", "--device", "opencl:0:0", "--kernel", "layer"], "the layer ops have nothing to tune"),
        (["run", "--model", "gpt5"], "unknown model 'gpt5': use one of gpt2-124m, llama3-8b, llama3-70b"),
        (["run", "--model", "llama3-8b", "--tensor-parallel", "3"], "must divide llama3-8b's 32 heads"),
    ])
    func badInputIsAOneLineUsageError(arguments: [String], expected: String) throws {
        let outcome = try NodeBenchProcess.run(arguments)
        #expect(outcome.status == 64)
        #expect(outcome.stderrLines.count == 1, "\(outcome.stderr)")
        #expect(outcome.stderr.hasPrefix("nodebench: error: "))
        #expect(outcome.stderr.contains(expected))
        #expect(outcome.stdout.isEmpty)
    }

    @Test func aBurnInKeepsEveryDeviceUnderLoadAndSaysHowItHeldUp() throws {
        let output = temporaryFile("burn-in.json")
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--no-peak", "--shape", "64x64x64", "--layout", "NN", "--dtype", "fp32", "--impl", "openblas",
            "--impl", "nodebench", "--burn-in", "2s", "--output", output.path,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Burn-in:\n  host openblas gemm fp32 NN 64x64x64 under load"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("  opencl:0:0 nodebench gemm fp32 NN 64x64x64 under load"))
        #expect(try NodeBenchProcess.validate(output).status == 0)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any])
        let burnIn = try #require(document["burnIn"] as? [[String: Any]])
        #expect(burnIn.map { $0["device"] as? String } == ["host", "opencl:0:0"])
        #expect(burnIn.allSatisfy { $0["status"] as? String == "ok" && ($0["intervals"] as? [Any])?.count ?? 0 >= 16 })
    }

    @Test func attentionAsTheREADMEShowsIt() throws {
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--kernel", "attention", "--batch", "1", "--heads", "4", "--kv-heads", "2", "--seq", "77", "--head-dim", "64",
            "--causal", "--dtype", "bf16", "--impl", "flash", "--suite", "quick", "--json", "--no-peak",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let results = try #require(try jsonObject(Data(outcome.stdout.utf8))["results"] as? [[String: Any]])
        #expect(results.count == 2 && Set(results.compactMap { $0["device"] as? String }) == ["host", "opencl:0:0"])
        for result in results {
            #expect(result["implementation"] as? String == "flash" && result["status"] as? String == "ok")
            let attention = try #require(result["attention"] as? [String: Any])
            #expect(["batch", "heads", "kvHeads", "seq", "headDim"].map { attention[$0] as? Int } == [1, 4, 2, 77, 64])
            #expect(attention["causal"] as? Bool == true)
            #expect((result["flops"] as? NSNumber)?.doubleValue == 4.0 * 4 * 77 * 77 * 64 / 2)
            #expect(result["layout"] == nil && result["shape"] == nil)
        }
    }

    @Test func aModelsTrainingStepIsBrokenDownPerLayer() throws {
        let file = temporaryFile("model.json")
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--model", "gpt2-124m", "--seq", "32", "--dtype", "fp32", "--device", "host", "--suite", "quick",
            "--output", file.path,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        for part in ["qkv", "attention-out", "mlp-up", "mlp-down", "lm-head", "attention-forward", "attention-backward"] {
            #expect(outcome.stdout.contains("\n\(part) "), "\(part)")
        }
        #expect(!outcome.stdout.contains("(estimate)"), "the host's flash backward is measured")
        #expect(outcome.stdout.contains("estimated training throughput") && outcome.stdout.contains("MFU"))
        let training = try #require(try jsonObject(Data(contentsOf: file))["training"] as? [[String: Any]])
        #expect(training.count == 1 && (training[0]["tokensPerSecond"] as? Double ?? 0) > 0)
        #expect(try NodeBenchProcess.validate(file).status == 0)
    }

    @Test func anInterruptedRunKeepsWhatItMeasured() throws {
        let file = temporaryFile("interrupted.json")
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = NodeBenchProcess.executable
        // A quick first case, then one whose verification takes seconds.
        process.arguments = [
            "run", "--repetitions", "1", "--device", "opencl:0:0", "--impl", "nodebench", "--shape", "16x16x16", "--shape", "1500x1500x1500",
            "--layout", "NN",
            "--dtype", "fp32", "--no-peak", "--output", file.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var measured: [[String: Any]] = []
        for _ in 0..<600 where measured.isEmpty {
            Thread.sleep(forTimeInterval: 0.05)
            if let data = try? Data(contentsOf: file), let document = try? jsonObject(data) {
                measured = document["results"] as? [[String: Any]] ?? []
            }
        }
        process.interrupt()  // SIGINT, as Ctrl-C sends
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + SIGINT)

        let document = try jsonObject(Data(contentsOf: file))
        #expect(document["complete"] as? Bool == false)
        // The first case is in the file as soon as it is verified, before the rounds of timing.
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.count == 1)
        #expect(["verified", "ok"].contains(results.first?["status"] as? String))
        #expect((results.first?["verification"] as? [String: Any])?["passed"] as? Bool == true)
        #expect(try NodeBenchProcess.validate(file).status == 0)
    }

    @Test func alphaAndBetaReachEveryImplementation() throws {
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--no-peak", "--shape", "30x20x10", "--layout", "NT", "--dtype", "fp32", "--alpha", "2", "--beta=-0.5", "--json",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let results = try #require(try jsonObject(Data(outcome.stdout.utf8))["results"] as? [[String: Any]])
        #expect(results.count == 3)
        for result in results {
            #expect(result["alpha"] as? Double == 2 && result["beta"] as? Double == -0.5)
            #expect((result["verification"] as? [String: Any])?["passed"] as? Bool == true, "\(result["implementation"] ?? "")")
        }
    }

    @Test func anUnwritableResultFileIsAnIOError() throws {
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--device", "host", "--shape", "4x4x4", "--layout", "NN", "--dtype", "fp32", "--output",
            "/proc/no-such-dir/out.json",
        ])
        #expect(outcome.status == 74)
        #expect(outcome.stderrLines.last?.hasPrefix("nodebench: error: cannot write results to /proc/no-such-dir") == true)
    }

    @Test func aShapeTooLargeForTheNodeIsSkippedWithItsReason() throws {
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--shape", "2000000x2000000x2", "--layout", "NN", "--dtype", "fp32", "--json", "--no-peak",
        ])
        // Nothing was measured, and the exit status says so.
        #expect(outcome.status == 3, "\(outcome.stderr)")
        let results = try #require(try jsonObject(Data(outcome.stdout.utf8))["results"] as? [[String: Any]])
        #expect(results.count == 3)  // host BLAS, NodeBench and CLBlast
        #expect(results.allSatisfy { $0["status"] as? String == "skipped" && ($0["reason"] as? String)?.contains("needs") == true })
    }
}

@Suite struct PeakAndDiagnosisCommandTests {
    @Test func peakMeasuresEveryDeviceAndDrawsItsRoofline() throws {
        let directory = temporaryFile("peak")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("peak.json")
        let outcome = try NodeBenchProcess.run(["peak", "--suite", "quick", "--output", file.path])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        for expected in ["compute", "memoryBandwidth", "transferBandwidth", "launchLatency", "theoretical host fp32", "Findings:"] {
            #expect(outcome.stdout.contains(expected), "missing \(expected)")
        }
        let document = try jsonObject(Data(contentsOf: file))
        let peaks = try #require(document["peaks"] as? [[String: Any]])
        #expect(Set(peaks.compactMap { $0["device"] as? String }) == ["host", "opencl:0:0"])
        #expect((document["theoreticalPeaks"] as? [[String: Any]])?.isEmpty == false)
        let figures = try #require(document["figures"] as? [String])
        #expect(figures == ["peak.roofline-host.svg", "peak.roofline-opencl-0-0.svg"])
        for figure in figures {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(figure).path))
        }
        #expect(try NodeBenchProcess.validate(file).status == 0)
    }

    @Test func casesReadAsAShareOfTheirDevicesPeak() throws {
        let file = temporaryFile("efficiency.json")
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--suite", "quick", "--shape", "96x80x64", "--layout", "NN", "--dtype", "fp32", "--output", file.path,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("% peak"))
        let results = try #require(try jsonObject(Data(contentsOf: file))["results"] as? [[String: Any]])
        for result in results {
            let efficiency = try #require(result["efficiency"] as? [String: Any])
            #expect(abs((efficiency["arithmeticIntensity"] as? Double ?? 0) - 2.0 * 96 * 80 * 64 / ((96 * 64 + 64 * 80 + 96 * 80) * 4)) < 1e-9)
            #expect((efficiency["percentOfPeak"] as? Double ?? 0) > 0)
            #expect(efficiency["peakSource"] as? String == "measured")
        }
        #expect(try NodeBenchProcess.validate(file).status == 0)
    }

    @Test func blasCoreTypeRerunsTheHostCasesSideBySide() throws {
        let file = temporaryFile("coretype.json")
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--device", "host", "--no-peak", "--shape", "64x64x64", "--layout", "NN", "--dtype", "fp32",
            "--blas-coretype", "Haswell", "--output", file.path,
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("openblas[OPENBLAS_CORETYPE=Haswell]"))
        let results = try #require(try jsonObject(Data(contentsOf: file))["results"] as? [[String: Any]])
        #expect(results.count == 2)
        let rerun = try #require(results.first { $0["variant"] as? String == "OPENBLAS_CORETYPE=Haswell" })
        #expect((rerun["notes"] as? [String])?.contains("OpenBLAS core Haswell") == true)
        #expect((rerun["verification"] as? [String: Any])?["passed"] as? Bool == true)
    }

    @Test func aCoreTypeOpenBLASRefusesIsSaid() throws {
        let outcome = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--device", "host", "--no-peak", "--shape", "8x8x8", "--layout", "NN", "--dtype", "fp32",
            "--blas-coretype", "NoSuchCore", "--json",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("OpenBLAS did not take OPENBLAS_CORETYPE=NoSuchCore"))
    }
}

@Suite(.serialized) struct TuningCommandTests {
    @Test func tuneWritesTheCacheAndAFileThatRunReads() throws {
        let cache = temporaryFile("xdg")
        let exported = temporaryFile("tuned.json")
        defer {
            try? FileManager.default.removeItem(at: cache)
            try? FileManager.default.removeItem(at: exported)
        }
        let tune = try NodeBenchProcess.run(
            ["tune", "--device", "opencl:0:0", "--size-class", "small", "--budget", "4", "--tuned-params", exported.path],
            environment: ["XDG_CACHE_HOME": cache.path])
        #expect(tune.status == 0, "\(tune.stderr)")
        #expect(tune.stdout.contains("fp32   NN      small"))
        #expect(tune.stderr.contains("[1/"))  // progress
        let file = try jsonObject(Data(contentsOf: exported))
        let entries = try #require(file["entries"] as? [[String: Any]])
        #expect(entries.count == 1 && entries[0]["sizeClass"] as? String == "small")
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent("nodebench/tuned-gemm.json").path))

        // Another node (an empty cache) imports the file.
        let run = try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--device", "opencl:0:0", "--impl", "nodebench", "--no-peak", "--shape", "100x90x80", "--layout", "TN",
             "--dtype", "fp32", "--tuned-params", exported.path, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try #require((try jsonObject(Data(run.stdout.utf8))["results"] as? [[String: Any]])?.first)
        #expect((result["notes"] as? [String])?.first?.contains("tuned for fp32 NN small") == true)
    }

    @Test(arguments: [
        (["tune", "--device", "host"], "tuning applies to OpenCL devices"),
        (["tune", "--device", "opencl:0:0", "--budget", "0"], "--budget must be a positive number"),
        (["run", "--tuned-params", "/no/such/file.json"], "--tuned-params: no file at /no/such/file.json"),
    ])
    func badTuningInputIsAUsageError(arguments: [String], expected: String) throws {
        let outcome = try NodeBenchProcess.run(arguments)
        #expect(outcome.status == 64)
        #expect(outcome.stderrLines.count == 1 && outcome.stderr.contains(expected), "\(outcome.stderr)")
    }

    @Test func aCorruptTuningFileIsRefusedAndACorruptCacheIsRebuilt() throws {
        let cache = temporaryFile("xdg-corrupt")
        defer { try? FileManager.default.removeItem(at: cache) }
        let cacheFile = cache.appendingPathComponent("nodebench/tuned-gemm.json")
        try FileManager.default.createDirectory(at: cacheFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("not json at all".utf8).write(to: cacheFile)

        let imported = try NodeBenchProcess.run(["run", "--repetitions", "1", "--tuned-params", cacheFile.path])
        #expect(imported.status == 64 && imported.stderr.contains("is not a NodeBench tuning file"))

        let run = try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--device", "opencl:0:0", "--no-peak", "--shape", "8x8x8", "--layout", "NN", "--dtype", "fp32"],
            environment: ["XDG_CACHE_HOME": cache.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("warning: ignoring the tuning cache") && run.stderr.contains("will be rebuilt"))
    }
}

/// The kernels under oclgrind's simulator: no out-of-bounds access, no data race, nothing read
/// uninitialized, for every type and layout, in GPU-style (the simulator's defaults) and
/// CPU-style parameters. One process per program: oclgrind's uninitialized-value tracking
/// reports spurious reads once a second program is built in the same context.
@Suite(.serialized) struct OclgrindTests {
    static let checks = ["oclgrind", "--data-races", "--uninitialized", "--check-api"]

    /// hwloc's own OpenCL discovery asks every device for AMD and NVIDIA attributes, which the
    /// simulator rightly calls invalid; it is switched off so that only NodeBench's calls are checked.
    static func cleanRun(_ arguments: [String]) throws -> NodeBenchProcess.Outcome {
        try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--suite", "quick", "--device", "opencl:0:0", "--impl", "nodebench", "--no-peak", "--shape", "19x23x7",
             "--shape", "5x33x2"] + arguments,
            environment: ["HWLOC_COMPONENTS": "-opencl"], wrapper: checks)
    }

    static func problems(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { line in
            ["Invalid", "race", "uninitialized", "error", "Error"].contains { line.contains($0) }
        }
    }

    @Test(arguments: ["fp32", "fp64", "fp16", "bf16"], ["NN", "NT", "TN"])
    func kernelsAreCleanUnderTheSimulator(dtype: String, layout: String) throws {
        let outcome = try Self.cleanRun(["--dtype", dtype, "--layout", layout])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(Self.problems(outcome.stderr).isEmpty, "\(Self.problems(outcome.stderr).prefix(5))")
        #expect(outcome.stdout.split(separator: "\n").filter { $0.contains("passed (full)") }.count == 2)
    }

    /// Attention's kernels, one implementation per process, for bounds, races and API use.
    /// Without `--uninitialized`: oclgrind 21.10's tracking flags reads of buffers a kernel before
    /// has just written (spurious, as above), and running the flash kernel under it changes the
    /// kernel's results (it verifies without the option), so its reports there are not about our code.
    @Test(arguments: ["naive", "flash"], ["fp32", "fp16", "bf16"])
    func attentionKernelsAreCleanUnderTheSimulator(implementation: String, dtype: String) throws {
        for causal in [true, false] {
            let outcome = try NodeBenchProcess.run(
                ["run", "--repetitions", "1", "--suite", "quick", "--device", "opencl:0:0", "--no-peak", "--kernel", "attention", "--heads", "2",
                 "--kv-heads", "1", "--seq", "19", "--head-dim", "20", "--dtype", dtype, "--impl", implementation]
                    + (causal ? ["--causal"] : []),
                environment: ["HWLOC_COMPONENTS": "-opencl"], wrapper: ["oclgrind", "--data-races", "--check-api"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(Self.problems(outcome.stderr).isEmpty, "\(Self.problems(outcome.stderr).prefix(5))")
            #expect(outcome.stdout.split(separator: "\n").filter { $0.contains("passed (full)") }.count == 1)
        }
    }

    /// The backward kernels (and the forward before them) on an odd sequence with grouped heads:
    /// flash, and the unfused path's batched GEMMs with fp32 operands and its softmax backward.
    @Test(arguments: ["naive", "flash"], ["fp32", "fp16", "bf16"])
    func attentionBackwardKernelsAreCleanUnderTheSimulator(implementation: String, dtype: String) throws {
        for causal in [true, false] {
            let outcome = try NodeBenchProcess.run(
                ["run", "--repetitions", "1", "--suite", "quick", "--device", "opencl:0:0", "--no-peak", "--kernel", "attention", "--pass", "backward",
                 "--heads", "2", "--kv-heads", "1", "--seq", "19", "--head-dim", "20", "--dtype", dtype, "--impl", implementation]
                    + (causal ? ["--causal"] : []),
                environment: ["HWLOC_COMPONENTS": "-opencl"], wrapper: ["oclgrind", "--data-races", "--check-api"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(Self.problems(outcome.stderr).isEmpty, "\(Self.problems(outcome.stderr).prefix(5))")
            #expect(outcome.stdout.split(separator: "\n").filter { $0.contains("attention bwd") && $0.contains("passed (full)") }.count == 1)
        }
    }

    /// The simulator is a GPU, whose backward takes two sweeps; a tuning file gives it a CPU's one
    /// sweep, with several dQ partials (19 keys, one compute unit: up to four work-items) and query
    /// blocks of one panel (dK and dV carried between them), to check that too.
    @Test(arguments: [true, false])
    func oneSweepBackwardIsCleanUnderTheSimulator(causal: Bool) throws {
        let notes = try Self.flashUnderTheSimulator(
            parameters: ["tileRows": 8, "vectorWidth": 8, "groupSize": 2, "backwardSweeps": 1, "queryBlock": 1],
            arguments: ["--pass", "backward", "--seq", "19"] + (causal ? ["--causal"] : []))
        #expect(notes.contains("fp32 partials per head") && notes.contains("blocks of 8 query rows"), "\(notes)")
    }

    /// The layer ops, both passes, on sizes no multiple of 4 or of a work-group (the rotary
    /// embedding, left out of a width of 301, runs alone on its 128-value heads; the loss alone on
    /// rows of 33,000, past one block of a work-group's vectors, 32 x 256 x 4, so that its forward
    /// reads the next block's maxima), in GPU-style work-groups of 256. Without `--uninitialized`,
    /// which crashes oclgrind 21.10 on these programs.
    @Test(arguments: ["fp32", "fp16", "bf16"])
    func layerOpKernelsAreCleanUnderTheSimulator(dtype: String) throws {
        let cases = [["--rows", "5", "--width", "301"], ["--op", "rotary", "--rows", "3", "--width", "256"],
                     ["--op", "cross-entropy", "--rows", "2", "--width", "33000"]]
        for sizes in cases {
            let outcome = try NodeBenchProcess.run(
                ["run", "--repetitions", "1", "--suite", "quick", "--device", "opencl:0:0", "--no-peak", "--kernel", "layer", "--pass", "both",
                 "--dtype", dtype] + sizes,
                environment: ["HWLOC_COMPONENTS": "-opencl"], wrapper: ["oclgrind", "--data-races", "--check-api"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(Self.problems(outcome.stderr).isEmpty, "\(Self.problems(outcome.stderr).prefix(5))")
            let passed = outcome.stdout.split(separator: "\n").filter { $0.contains("passed (full)") }.count
            #expect(passed == (sizes.contains("--op") ? 2 : 12), "\(outcome.stdout)")
        }
    }

    /// The flash forward walking its keys in one-panel blocks, so its work-group meets at a barrier
    /// after every panel, work-items past the last row included: no race, no divergent barrier.
    @Test(arguments: [true, false])
    func blockedFlashKeysAreCleanUnderTheSimulator(causal: Bool) throws {
        let notes = try Self.flashUnderTheSimulator(
            parameters: ["tileRows": 2, "vectorWidth": 8, "groupSize": 4, "keyBlock": 1], arguments: ["--seq", "37"] + (causal ? ["--causal"] : []))
        #expect(notes.contains("WG=4 KB=1 (tuned"), "\(notes)")
    }

    /// One flash case (fp32, two heads sharing one key/value head, D=20) under the simulator, with
    /// these flash parameters in a tuning file for its device: clean and verified. Returns its notes.
    static func flashUnderTheSimulator(parameters: [String: Any], arguments: [String]) throws -> String {
        let file = try simulatorTuningFile(
            section: "flash", entry: ["dtype": "fp32", "headDim": 20, "parameters": parameters], named: "oclgrind-flash-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--suite", "quick", "--device", "opencl:0:0", "--no-peak", "--kernel", "attention", "--heads", "2",
             "--kv-heads", "1", "--head-dim", "20", "--dtype", "fp32", "--impl", "flash", "--tuned-params", file.path, "--json"] + arguments,
            environment: ["HWLOC_COMPONENTS": "-opencl"], wrapper: ["oclgrind", "--data-races", "--check-api"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(Self.problems(outcome.stderr).isEmpty, "\(Self.problems(outcome.stderr).prefix(5))")
        let result = try #require((try jsonObject(Data(outcome.stdout.utf8))["results"] as? [[String: Any]])?.first)
        #expect(((result["verification"] as? [String: Any])?["passed"] as? Bool) == true)
        return (result["notes"] as? [String])?.joined(separator: "; ") ?? ""
    }

    /// A tuning file giving the simulator's device these GEMM parameters for small fp32 products.
    static func gemmTuningFile(_ parameters: [String: Int], named name: String) throws -> URL {
        try simulatorTuningFile(
            section: "entries", entry: ["dtype": "fp32", "layout": "NN", "sizeClass": "small", "parameters": parameters], named: name)
    }

    /// A tuning file holding one entry of `section` ("entries", GEMM; "flash") for the simulator's
    /// device: `entry` with that device's name and driver, as if tuned.
    static func simulatorTuningFile(section: String, entry: [String: Any], named name: String) throws -> URL {
        let devices = try NodeBenchProcess.run(["devices", "--json"], wrapper: ["oclgrind"])
        let device = try #require((try jsonObject(Data(devices.stdout.utf8))["devices"] as? [[String: Any]])?.last)
        let tuned = entry.merging([
            "device": device["name"] as? String ?? "", "driver": device["driver"] as? String ?? "", "gflops": 1, "tunedAt": "2026-01-01T00:00:00Z",
        ]) { $1 }
        var document: [String: Any] = ["schemaVersion": 1, "entries": []]
        document[section] = [tuned]
        let file = temporaryFile(name)
        try JSONSerialization.data(withJSONObject: document).write(to: file)
        return file
    }

    /// AVX-512's tile, and a cache blocking small enough that 19x23x7 takes four k blocks in two
    /// launches, a last work-item with one row panel of three and a work-item past the last row panel.
    static let cpuStyleParameters: [(parameters: [String: Int], described: String)] = [
        (["tileRows": 12, "vectorWidth": 16, "columnVectors": 2, "groupColumns": 1, "groupRows": 8], "TM=12 VW=16 TN=2 WG=1x8 (tuned"),
        (["tileRows": 2, "vectorWidth": 8, "groupColumns": 1, "groupRows": 2, "rowPanelsPerItem": 3, "kBlock": 2, "kSlice": 4], "TM=2 VW=8 WG=1x2 RP=3 KC=2 KS=4 (tuned"),
    ]

    @Test(arguments: 0..<2)
    func cpuStyleParametersAreCleanToo(choice: Int) throws {
        let (parameters, described) = Self.cpuStyleParameters[choice]
        let file = try Self.gemmTuningFile(parameters, named: "oclgrind-tuned-\(choice).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try Self.cleanRun(["--dtype", "fp32", "--layout", "NT", "--tuned-params", file.path, "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(Self.problems(outcome.stderr).isEmpty, "\(Self.problems(outcome.stderr).prefix(5))")
        let results = try #require(try jsonObject(Data(outcome.stdout.utf8))["results"] as? [[String: Any]])
        #expect(results.count == 2)
        #expect(results.allSatisfy { (($0["notes"] as? [String])?.first ?? "").contains(described) })
    }

    /// The unfused backward's batched GEMMs (two KV heads: a batch of two) with the small blocking.
    @Test func blockedGEMMsBatchCleanlyInTheUnfusedBackward() throws {
        let file = try Self.gemmTuningFile(Self.cpuStyleParameters[1].parameters, named: "oclgrind-tuned-unfused.json")
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--suite", "quick", "--device", "opencl:0:0", "--no-peak", "--kernel", "attention", "--pass", "backward",
             "--heads", "2", "--kv-heads", "2", "--seq", "19", "--head-dim", "20", "--dtype", "fp32", "--impl", "naive", "--tuned-params", file.path],
            environment: ["HWLOC_COMPONENTS": "-opencl"], wrapper: ["oclgrind", "--data-races", "--check-api"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(Self.problems(outcome.stderr).isEmpty, "\(Self.problems(outcome.stderr).prefix(5))")
        #expect(outcome.stdout.split(separator: "\n").filter { $0.contains("attention bwd") && $0.contains("passed (full)") }.count == 1)
    }
}

/// The regression gate end to end: identical reruns pass, an injected slowdown of one
/// implementation fails with exit 2 naming exactly its cases, a bad baseline is a usage error.
@Suite(.serialized) struct RegressionGateTests {
    static let cases = [
        "--suite", "quick", "--device", "host", "--shape", "64x64x64", "--shape", "96x64x32", "--layout", "NN", "--layout", "TN",
        "--dtype", "fp32", "--impl", "openblas", "--repetitions", "2", "--no-peak",
    ]

    /// The result file at `source` with every case's repetitions replaced by synthetic ones: each
    /// case at its own speed times `factor(case)`, wobbling by ±1% from run to run and repetition
    /// to repetition, so the verdicts depend on no real timing.
    static func synthetic(from source: URL, run: Int, to file: URL, factor: (String) -> Double = { _ in 1 }) throws {
        var document = try jsonObject(Data(contentsOf: source))
        var results = try #require(document["results"] as? [[String: Any]])
        for index in results.indices {
            var stats = try #require(results[index]["stats"] as? [String: Any])
            let shape = results[index]["shape"] as? [String: Int] ?? [:]
            let name = "host openblas gemm fp32 \(results[index]["layout"] as? String ?? "") \(shape["m"] ?? 0)x\(shape["n"] ?? 0)x\(shape["k"] ?? 0)"
            stats["repetitions"] = (1...10).map { round -> [String: Any] in
                let wobble = 1 + 0.01 * Double((run * 7 + round * 3 + index) % 5 - 2) / 2
                let median = 1e-3 * Double(index + 1) * wobble * factor(name)
                return ["run": 0, "kernelMedian": median, "wallMedian": median, "samples": 3, "warmupRuns": 1, "round": round, "disturbed": false]
            }
            results[index]["stats"] = stats
        }
        document["results"] = results
        try JSONSerialization.data(withJSONObject: document).write(to: file)
    }

    @Test func identicalRunsPassAndASlowdownFailsNamingItsCase() throws {
        let directory = temporaryFile("gate")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let measured = directory.appendingPathComponent("measured.json")
        let run = try NodeBenchProcess.run(["run", "--output", measured.path] + Self.cases)
        #expect(run.status == 0, "\(run.stderr)")
        let file = { (name: String) in directory.appendingPathComponent(name) }
        for index in 0..<5 { try Self.synthetic(from: measured, run: index, to: file("base\(index).json")) }
        for index in 0..<4 { try Self.synthetic(from: measured, run: 10 + index, to: file("same\(index).json")) }
        let slowCase = "host openblas gemm fp32 TN 96x64x32"
        for index in 0..<4 {
            try Self.synthetic(from: measured, run: 20 + index, to: file("slow\(index).json")) { $0 == slowCase ? 1.5 : 1 }
        }

        let saved = try NodeBenchProcess.run(
            ["baseline", "save", "this-node", "--directory", directory.path, "--from"] + (0..<5).map { file("base\($0).json").path })
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(saved.stdout.contains("(4 cases, 5 run(s), suite quick)") && saved.stdout.contains("detectable"), "\(saved.stdout)")
        let baseline = file("this-node.json")
        #expect(try NodeBenchProcess.validate(baseline).status == 0)

        let same = try NodeBenchProcess.run(["check", "--baseline", baseline.path, "--current"] + (0..<4).map { file("same\($0).json").path })
        #expect(same.status == 0, "\(same.stdout)\n\(same.stderr)")
        #expect(same.stdout.contains("4 same, 0 slower, 0 faster, 0 ambiguous"), "\(same.stdout)")

        let junit = file("gate.xml")
        let slowed = try NodeBenchProcess.run(
            ["check", "--baseline", baseline.path, "--junit", junit.path, "--current"] + (0..<4).map { file("slow\($0).json").path })
        #expect(slowed.status == 2, "\(slowed.stdout)\n\(slowed.stderr)")
        let slowedRows = slowed.stdout.split(separator: "\n").filter { $0.hasSuffix(" slower") }
        #expect(slowedRows.count == 1 && slowedRows[0].hasPrefix(slowCase), "\(slowed.stdout)")
        let verdictLine = try #require(slowed.stderr.split(separator: "\n").first { $0.hasPrefix("check: ") })
        #expect(verdictLine.contains("1 case(s) slower") && verdictLine.hasSuffix(slowCase), "\(verdictLine)")
        #expect(try String(contentsOf: junit, encoding: .utf8).contains(#"failures="1""#))

        let mixed = try NodeBenchProcess.run(["check", "--baseline", baseline.path, "--current", file("same0.json").path, file("other.json").path])
        #expect(mixed.status == 64 && mixed.stderrLines.count == 1, "\(mixed.stderr)")
    }

    @Test func anInjectedSlowdownReachesOnlyTheCaseItNames() throws {
        let output = temporaryFile("slowed.json")
        defer { try? FileManager.default.removeItem(at: output) }
        let selected = "host openblas gemm fp32 NN 64x64x64"
        let run = try NodeBenchProcess.run(["run", "--output", output.path, "--debug-slowdown", "\(selected)=1.10"] + Self.cases)
        #expect(run.status == 0, "\(run.stderr)")
        let results = try #require(try jsonObject(Data(contentsOf: output))["results"] as? [[String: Any]])
        let slowed = results.filter { ($0["notes"] as? [String] ?? []).contains { $0.contains("slowed down 1.1x") } }
        #expect(slowed.count == 1 && slowed[0]["layout"] as? String == "NN" && (slowed[0]["shape"] as? [String: Int])?["k"] == 64)

        let nothing = try NodeBenchProcess.run(["run", "--output", output.path, "--debug-slowdown", "host openblas gemm fp64=2"] + Self.cases)
        #expect(nothing.stderr.contains("warning: the --debug selector 'host openblas gemm fp64' matched no case"))
        let bad = try NodeBenchProcess.run(["run", "--output", output.path, "--debug-slowdown", "openblas=0.5"] + Self.cases)
        #expect(bad.status == 64 && bad.stderr.contains("a factor above 1"))
    }

    @Test func theHTMLReportStandsAloneAndHoldsEverySection() throws {
        let file = temporaryFile("report-run.json"), html = temporaryFile("report.html")
        defer { [file, html].forEach { try? FileManager.default.removeItem(at: $0) } }
        let run = try NodeBenchProcess.run([
            "run", "--repetitions", "1", "--output", file.path, "--device", "host", "--suite", "quick", "--kernel", "gemm", "--kernel", "attention",
            "--shape", "64x64x64", "--shape", "128x128x128", "--layout", "NN", "--dtype", "fp32", "--seq", "64", "--head-dim", "64",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try NodeBenchProcess.run(["report", file.path, file.path, "--html", html.path])
        #expect(report.status == 0, "\(report.stderr)")
        let page = try String(contentsOf: html, encoding: .utf8)
        for section in ["<h2>Node</h2>", "<h2>Findings</h2>", "<h2>Peaks</h2>", "<h2>Rooflines</h2>", "<h2>GEMM sweeps</h2>",
                        "<h2>Attention sweeps</h2>", "<h2>Devices side by side</h2>", "<h2>Against the baseline</h2>"] {
            #expect(page.contains(section), "\(section)")
        }
        // Nothing to fetch: no scripts, stylesheets or images from elsewhere.
        #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("href="))
        #expect(page.components(separatedBy: "http").count - 1 == page.components(separatedBy: "http://www.w3.org/2000/svg").count - 1)
        #expect(page.contains(" same</span>") || page.contains(">same</span>"))
    }

    @Test(arguments: [
        ("missing.json", "", "no result file"),
        ("corrupt.json", "{\"schemaVersion\": 3, \"results\": [1]}", "corrupt NodeBench result file"),
        ("old.json", "{\"schemaVersion\": 2}", "has result schema 2; this nodebench reads 3 to 5"),
    ])
    func aBaselineThatCannotBeReadIsAUsageError(name: String, contents: String, expected: String) throws {
        let file = temporaryFile(name)
        defer { try? FileManager.default.removeItem(at: file) }
        if !contents.isEmpty { try Data(contents.utf8).write(to: file) }
        let outcome = try NodeBenchProcess.run(["check", "--baseline", file.path, "--current", file.path])
        #expect(outcome.status == 64)
        #expect(outcome.stderrLines.count == 1 && outcome.stderr.contains(expected), "\(outcome.stderr)")
    }
}
