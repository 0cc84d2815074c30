import ArgumentParser
import Foundation
import NodeBenchKit

struct PeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "Measure each device's peak compute, memory and transfer bandwidth and launch latency.")

    @Option(help: "Probe length: quick (seconds in all) or standard.")
    var suite: Suite.Name = .standard

    @OptionGroup var output: OutputOptions

    func run() throws {
        let chosenSuite = Suite.named(suite)
        let (session, devices) = try output.startSession(suite: chosenSuite, seed: 0, deviceIDs: output.devices)
        session.measurePeaks(on: devices, policy: chosenSuite.peakPolicy)
        try output.finish(session) { PeakReport.table($0.peaks, theoretical: $0.theoreticalPeaks) }
    }
}
