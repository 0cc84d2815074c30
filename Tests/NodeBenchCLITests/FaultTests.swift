import Foundation
import Testing

/// Every fault OpenCLKit can be made to produce (`run --debug-fault`), on GEMM and on attention:
/// the faulted case ends with a one-line reason, the run goes on, nothing measured is lost, exit 1.
@Suite struct InjectedFaultTests {
    struct Kernel: CustomStringConvertible, Sendable {
        let arguments: [String]
        /// The middle of the three cases the arguments make (fp16, fp32, bf16), the one faulted: in
        /// fp32 a flipped lowest bit is far inside the tolerance, so only the repeated execution sees it.
        let faulted: String
        var description: String { faulted }
    }

    static let kernels = [
        Kernel(
            arguments: ["--impl", "nodebench", "--shape", "64x64x64", "--layout", "NN"],
            faulted: "opencl:0:0 nodebench gemm fp32 NN 64x64x64"),
        Kernel(
            arguments: ["--impl", "flash", "--heads", "2", "--kv-heads", "1", "--head-dim", "20", "--seq", "19"],
            faulted: "opencl:0:0 flash attention fp32 b1 h2/kv1 s19 d20"),
    ]

    /// What each fault's reason must say.
    static let expectedReasons = [
        "build": "kernel build failed", "allocation": "device out of memory", "enqueue": "clEnqueueNDRangeKernel",
        "hang": "did not finish", "bitflip": "a second execution of the same inputs differs in 1 of",
    ]

    /// A short limit where a hang must be caught, yet long enough for the case before it: PoCL
    /// compiles a kernel at its first launch, which took over 2 s on a loaded 2-core machine.
    static func caseTimeout(_ kind: String) -> [String] { kind == "hang" ? ["--case-timeout", "6"] : [] }

    @Test(arguments: ["build", "allocation", "enqueue", "hang", "bitflip"], kernels)
    func faultEndsOnlyItsCase(kind: String, kernel: Kernel) throws {
        let file = temporaryFile("fault.json")
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--suite", "quick", "--device", "opencl:0:0", "--no-peak", "--output", file.path,
             "--dtype", "fp16", "--dtype", "fp32", "--dtype", "bf16", "--debug-fault", "\(kind)=\(kernel.faulted)"]
                + kernel.arguments + Self.caseTimeout(kind))
        #expect(outcome.status == 1, "\(outcome.stderr)")
        let results = try #require(try jsonObject(Data(contentsOf: file))["results"] as? [[String: Any]])
        try #require(results.count == 3)
        let statuses = results.map { $0["status"] as? String }
        // The case before keeps what it measured: verified and timed, or after a hang verified only.
        #expect(statuses[0] == (kind == "hang" ? "verified" : "ok"))
        #expect(results[0]["verification"] != nil)
        #expect(statuses[1] == (kind == "hang" ? "timedOut" : "failed"))
        let reason = try #require(results[1]["reason"] as? String)
        #expect(reason.contains(Self.expectedReasons[kind]!) && !reason.contains("\n"), "\(reason)")
        // A hung device is not used again; after any other fault the next case runs.
        #expect(statuses[2] == (kind == "hang" ? "skipped" : "ok"))
        #expect(outcome.stderrLines.contains { $0.hasPrefix("error: 1 case(s)") })
    }

    @Test func aSelectorThatMatchesNothingIsSaid() throws {
        let outcome = try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--suite", "quick", "--device", "host", "--no-peak", "--output", temporaryFile("x.json").path,
             "--shape", "32x32x32", "--layout", "NN", "--dtype", "fp32", "--debug-fault", "hang=no such case"])
        #expect(outcome.status == 0)
        #expect(outcome.stderr.contains("warning: the --debug selector 'no such case' matched no case"))
    }

    @Test(arguments: [["--debug-fault", "melt=nodebench"], ["--debug-fault", "hang="], ["--case-timeout", "0"]])
    func badFaultOptionsAreUsageErrors(arguments: [String]) throws {
        let outcome = try NodeBenchProcess.run(["run", "--no-peak"] + arguments)
        #expect(outcome.status == 64)
        #expect(outcome.stderrLines.count == 1, "\(outcome.stderr)")
    }
}

@Suite struct NothingMeasuredTests {
    @Test func aRunWhoseEveryCaseWasSkippedDoesNotExitZero() throws {
        let outcome = try NodeBenchProcess.run(
            ["run", "--repetitions", "1", "--no-peak", "--output", temporaryFile("none.json").path, "--shape", "200000x200000x200000",
             "--layout", "NN", "--dtype", "fp32"])
        #expect(outcome.status == 3, "\(outcome.stderr)")
        #expect(outcome.stderrLines.contains { $0.hasPrefix("error: nothing was measured: ") && $0.contains("host memory") })
    }
}
