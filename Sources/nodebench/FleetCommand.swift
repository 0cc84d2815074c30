import ArgumentParser
import Foundation
import NodeBenchKit

struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Judge every node of a fleet against the fleet: healthy, slow, failed, corrupt or missing.",
        discussion: """
            Each node runs `nodebench run --suite screen --output DIR/<node>.json` (scripts/slurm/screen.sbatch \
            does it on every node of a Slurm allocation); `fleet merge DIR` then judges them.
            """,
        subcommands: [FleetMergeCommand.self, FleetReportCommand.self, FleetSimulateCommand.self])
}

/// What both `merge` and `report` need to judge a folder.
struct FleetOptions: ParsableArguments {
    @Argument(help: "The folder of node result files, one NODE.json per node.")
    var folder: String

    @Option(
        help: ArgumentHelp(
            "A folder of nodes screened again, NODE.json each; repeatable.",
            discussion: "A node in several folders is judged on each case's fastest repetition over its screens."))
    var rescreen: [String] = []

    @Option(help: "The nodes that must report, as a Slurm node list (n[1-4], gpu[001-128]); those without a file are missing.")
    var expect: String?

    @Option(help: "Smallest slowdown against the fleet median that names a device slow, in percent.", transform: parsePercent)
    var threshold: Double = FleetMerge.defaultThreshold

    @Option(help: "Chance of naming any healthy device slow, over the whole fleet.")
    var alpha: Double = FleetMerge.defaultAlpha

    func validate() throws {
        guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be between 0 and 1") }
        guard threshold < 10 else { throw ValidationError("--threshold must be below 1000%") }
    }

    func merged() throws -> FleetDocument {
        let expected = try expect.map(HostList.expand) ?? []
        var runs = try FleetFolder.load(folder)
        for again in rescreen {
            runs += try FleetFolder.load(again).map { run in
                var run = run
                run.file = URL(fileURLWithPath: again).appendingPathComponent(run.file).path
                return run
            }
        }
        return FleetMerge(threshold: threshold, alpha: alpha).merge(runs, expected: expected, folder: folder, rescreenFolders: rescreen)
    }
}

struct FleetMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge a fleet's node files into one fleet document and name the nodes to look at.",
        discussion: "Exit status: 0 every node healthy, 2 a node is flagged, 74 the folder cannot be read, 64 usage error.")

    @OptionGroup var options: FleetOptions

    @Option(help: "Where to write the fleet document (default: beside the folder, FOLDER.fleet.json).")
    var output: String?

    func run() throws {
        let fleet = try options.merged()
        let path = output ?? FleetFolder.documentPath(for: options.folder)
        try OutputFile.write(try FleetDocument.encoder.encode(fleet), to: URL(fileURLWithPath: path))
        print(try FleetReport.render(fleet, as: .text), terminator: "")
        Console.note("fleet document written to \(path)")
        let (status, message) = fleet.outcome
        if let message { Console.note("fleet: \(message)") }
        if status != .ok { throw ExitCode(status.rawValue) }
    }
}

struct FleetReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "A fleet's verdicts as text, Markdown, JSON or one self-contained HTML page with a node x case heat map.")

    enum Format: String, EnumerableFlag {
        case text, markdown, json, html
    }

    @OptionGroup var options: FleetOptions

    @Flag(help: "The form of the report.")
    var format: Format = .text

    @Option(help: "Write the report here instead of printing it.")
    var output: String?

    @Option(help: "Print only the names of the nodes with this verdict, one a line (for scripts).")
    var names: FleetNode.Verdict?

    @Flag(help: "Print only the names of the nodes with a device found slow, whatever their verdict: the nodes to screen again.")
    var slowDevices = false

    func validate() throws {
        guard names == nil || !slowDevices else { throw ValidationError("--names and --slow-devices each choose the nodes to print; give one") }
    }

    func run() throws {
        let fleet = try options.merged()
        if let names {
            for node in fleet.nodes where node.verdict == names { print(node.name) }
            return
        }
        if slowDevices {
            for node in fleet.nodes where node.devices.contains(where: \.slow) { print(node.name) }
            return
        }
        let report = try FleetReport.render(fleet, as: FleetReport.Format(rawValue: format.rawValue)!)
        guard let output else {
            print(report, terminator: "")
            return
        }
        try OutputFile.write(report, to: output)
        Console.note("fleet report written to \(output)")
    }
}

/// A fleet made from one real result file, to test and measure the merge at scale.
struct FleetSimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate", abstract: "Write a simulated fleet's node files made from one real result file.", shouldDisplay: false)

    @Option(help: "A real node's result file.")
    var from: String

    @Option(help: "Nodes in the fleet.")
    var nodes: Int

    @Option(help: "Copies of each OpenCL device per node.")
    var devices = 8

    @Option(help: "Node numbers (1-based) made 25% slower.")
    var slow: [Int] = []

    @Option(help: "Node numbers whose first accelerator gives another checksum in its first case.")
    var corrupt: [Int] = []

    @Argument(help: "The folder to write NODE.json files into.")
    var folder: String

    func validate() throws {
        guard (1...100_000).contains(nodes), (1...64).contains(devices) else {
            throw ValidationError("--nodes must be from 1 to 100000 and --devices from 1 to 64")
        }
    }

    func run() throws {
        let base = try RunDocument.load(path: from, role: "--from")
        var simulation = FleetSimulation(nodes: nodes, devicesPerNode: devices)
        simulation.slowNodes = Dictionary(uniqueKeysWithValues: slow.map { ($0 - 1, 1.25) })
        simulation.corruptNodes = Set(corrupt.map { $0 - 1 })
        let encoder = RunDocument.encoder
        for node in 0..<nodes {
            let url = URL(fileURLWithPath: folder).appendingPathComponent(simulation.name(node) + ".json")
            try OutputFile.write(try encoder.encode(simulation.document(node: node, from: base)), to: url)
        }
        Console.note("\(nodes) node files written to \(folder)")
    }
}
