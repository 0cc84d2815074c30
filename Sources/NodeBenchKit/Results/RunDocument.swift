import Foundation
import HwlocKit

/// A result file: what produced it, on which node, and every case measured so far.
public struct RunDocument: Codable, Sendable {
    /// Bumped whenever a field changes meaning or a required field is added.
    public static let currentSchemaVersion = 5
    /// Schema 5 only added `outputChecksum`, 4 the `timedOut` status, so files of schema 3 read as they are.
    public static let readableSchemaVersions = 3...5

    public var schemaVersion: Int
    public var tool: ToolInfo
    public var startedAt: String
    public var finishedAt: String?
    /// False until the run ends: an interrupted run's file is still valid, with this false.
    public var complete: Bool
    public var suite: String
    public var seed: UInt64
    public var sampling: SamplingPolicy
    public var node: NodeDescription
    /// Peak probes, measured before the cases so each case can be read as a share of them.
    public var peaks: [PeakMeasurement]
    public var theoreticalPeaks: [TheoreticalPeak]
    public var results: [CaseResult]
    /// What looks wrong with the node, with evidence and what to do; filled when the run ends.
    public var findings: [Finding]
    /// Roofline pictures written beside this file, one per device.
    public var figures: [String]
    /// `run --model`: the training step's breakdown on each device.
    public var training: [TrainingBreakdown]?
    /// Present when the run kept its devices under load (`run --burn-in`).
    public var burnIn: [BurnInResult]?
    /// A baseline or measurement merged from several runs: when each ran (see `merging`).
    public var runs: [RunSpan]?

    public init(tool: ToolInfo, suite: String, seed: UInt64, sampling: SamplingPolicy, node: NodeDescription) {
        schemaVersion = RunDocument.currentSchemaVersion
        self.tool = tool
        startedAt = Timestamp.now()
        complete = false
        self.suite = suite
        self.seed = seed
        self.sampling = sampling
        self.node = node
        peaks = []
        theoreticalPeaks = []
        results = []
        findings = []
        figures = []
    }
}

/// The node as discovery saw it; `nodebench devices --json` prints the same object.
public struct NodeDescription: Codable, Sendable {
    public var host: HostInfo
    public var topology: Topology?
    public var blas: BLASInfo
    /// The host CPU's vendor, family, clock and instruction-set flags (from /proc/cpuinfo).
    public var cpu: HostCPU
    public var openclPlatforms: [NodeInventory.PlatformInfo]
    public var devices: [DeviceDescriptor]
    public var gpuFound: Bool
    public var summary: String
    public var problems: [String]
    /// Variables that change how BLAS and OpenCL behave (thread counts, kernel choice, ICD files).
    public var environment: [String: String]

    public init(_ inventory: NodeInventory, environment: [String: String] = ProcessInfo.processInfo.environment) {
        host = inventory.host
        topology = inventory.topology
        blas = inventory.blas
        cpu = inventory.cpu
        openclPlatforms = inventory.platforms
        devices = inventory.devices
        gpuFound = inventory.gpuFound
        summary = inventory.accelerationSummary
        problems = inventory.problems
        self.environment = environment.filter { key, _ in
            NodeDescription.relevantPrefixes.contains { key.hasPrefix($0) }
        }
    }

    static let relevantPrefixes = [
        "OPENBLAS_", "GOTO_", "OMP_", "BLIS_", "MKL_", "OCL_ICD_", "OPENCL_", "POCL_", "CUDA_", "NVIDIA_", "ROCR_",
        "HIP_", "GPU_", "HWLOC_",
    ]
}

/// What produced a result file.
public struct ToolInfo: Codable, Sendable {
    public var name: String
    public var version: String
    public var gitCommit: String?
    /// `release` or `debug`; timings from a debug build are not worth comparing.
    public var buildConfiguration: String

    public static let version = "0.1.0"

    public static var current: ToolInfo {
        #if DEBUG
            let configuration = "debug"
        #else
            let configuration = "release"
        #endif
        return ToolInfo(name: "nodebench", version: version, gitCommit: GitCommit.current(), buildConfiguration: configuration)
    }
}

public enum Timestamp {
    public static func now() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}

/// The commit the tool was built from: `NODEBENCH_GIT_COMMIT` if set (for copied binaries), else
/// what git says of the checkout the executable was built in.
enum GitCommit {
    static func current() -> String? {
        if let fromEnvironment = ProcessInfo.processInfo.environment["NODEBENCH_GIT_COMMIT"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", executable.deletingLastPathComponent().path, "rev-parse", "HEAD"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            return nil
        }
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }
}
