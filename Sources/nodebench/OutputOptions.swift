import ArgumentParser
import Foundation
import NodeBenchKit

/// Options every measuring command shares: which devices, where results go.
struct OutputOptions: ParsableArguments {
    @Option(name: .customLong("device"), help: "Device id from `nodebench devices` (repeatable; default: all).")
    var devices: [String] = []

    @Option(help: "Result file (default: results/runs/<host>-<time>.json); roofline SVGs are written beside it.")
    var output: String?

    @Flag(help: "Print the result JSON on stdout instead of the table.")
    var json = false

    /// Discovers the node, checks the device ids (none: every device), and opens the result file.
    func startSession(suite: Suite, seed: UInt64, deviceIDs: [String]) throws -> (RunSession, [DeviceDescriptor]) {
        Interruption.stopOnSignals()
        let inventory = NodeInventory.discover()
        let chosen = deviceIDs.isEmpty ? inventory.devices : try inventory.devices(withIDs: deviceIDs)
        Console.warnIfDebugBuild(.current)
        Console.note(inventory.accelerationSummary)
        for problem in inventory.problems { Console.note("warning: \(problem)") }
        let url = output.map { URL(fileURLWithPath: $0) }
            ?? ResultsFile.defaultURL(host: inventory.host.hostname, in: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return (try RunSession(inventory: inventory, suite: suite, seed: seed, output: url, log: Console.note), chosen)
    }

    /// Writes the end of the run and its roofline pictures, prints the table (or JSON) and
    /// findings, and exits as the README says.
    func finish(_ session: RunSession, table: (RunDocument) -> String) throws {
        try session.finish()
        session.drawRooflines()
        let document = session.document
        if json {
            print(String(decoding: try RunDocument.encoder.encode(document), as: UTF8.self))
        } else {
            print(table(document), terminator: "")
            print(RunReport.findings(document.findings), terminator: "")
        }
        Console.note("\(RunReport.summary(document)); results in \(session.url.path)")
        let (status, message) = document.outcome
        if let message { Console.note("error: \(message)") }
        if status != .ok { throw ExitCode(status.rawValue) }
    }
}
