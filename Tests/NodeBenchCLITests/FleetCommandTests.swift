import Foundation
import Testing

/// `fleet merge` and `fleet report` on a fleet simulated from one real run of this node.
@Suite struct FleetCommandTests {
    /// A folder of six nodes made from a real host run, node 4 made 25% slower and node 2 given a
    /// wrong output on its first accelerator.
    static func simulatedFleet() throws -> URL {
        let run = temporaryFile("node.json")
        let base = try NodeBenchProcess.run(
            ["run", "--repetitions", "3", "--no-peak", "--suite", "screen", "--shape", "96x96x96", "--dtype", "fp32", "--kernel", "gemm",
             "--output", run.path])
        try #require(base.status == 0, "\(base.stderr)")
        let folder = temporaryFile("fleet")
        let simulated = try NodeBenchProcess.run(
            ["fleet", "simulate", "--from", run.path, "--nodes", "6", "--devices", "2", "--slow", "4", "--corrupt", "2", folder.path])
        try #require(simulated.status == 0, "\(simulated.stderr)")
        return folder
    }

    @Test func mergeNamesTheNodesToLookAtAndExitsTwo() throws {
        let folder = try Self.simulatedFleet()
        let output = temporaryFile("fleet.json")
        let outcome = try NodeBenchProcess.run(["fleet", "merge", folder.path, "--expect", "node[0001-0007]", "--output", output.path])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stdout.hasPrefix("7 nodes: 1 corrupt, 1 missing, 1 slow, 4 healthy"), "\(outcome.stdout)")
        #expect(outcome.stderrLines.last == "fleet: 3 node(s) flagged: node0002 corrupt, node0007 missing, node0004 slow")
        #expect(try NodeBenchProcess.validate(output, fleet: true).status == 0)
        let html = temporaryFile("fleet.html")
        let report = try NodeBenchProcess.run(["fleet", "report", folder.path, "--html", "--output", html.path])
        #expect(report.status == 0, "\(report.stderr)")
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("<h2>Heat map</h2>") && page.contains("node0004 (slow)"))
        let names = try NodeBenchProcess.run(["fleet", "report", folder.path, "--names", "slow"])
        #expect(names.status == 0 && names.stdout == "node0004\n")
    }

    @Test func aSlowNodeScreenedAgainAtNormalSpeedIsForgiven() throws {
        let folder = try Self.simulatedFleet()
        let suspects = try NodeBenchProcess.run(["fleet", "report", folder.path, "--slow-devices"])
        #expect(suspects.status == 0 && suspects.stdout == "node0004\n", "\(suspects.stdout)")
        // node0004's second screen runs at node0001's speed.
        let again = temporaryFile("again")
        try FileManager.default.createDirectory(at: again, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: folder.appendingPathComponent("node0001.json"), to: again.appendingPathComponent("node0004.json"))
        let output = temporaryFile("fleet.json")
        let outcome = try NodeBenchProcess.run(["fleet", "merge", folder.path, "--rescreen", again.path, "--output", output.path])
        #expect(outcome.status == 2, "node0002 stays corrupt")
        #expect(outcome.stderrLines.last == "fleet: 1 node(s) flagged: node0002 corrupt", "\(outcome.stderr)")
        #expect(try NodeBenchProcess.validate(output, fleet: true).status == 0)
        let fleet = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any])
        let node = try #require((fleet["nodes"] as? [[String: Any]])?.first { $0["name"] as? String == "node0004" })
        #expect(node["verdict"] as? String == "healthy")
        #expect((node["evidence"] as? [String])?.first?.hasPrefix("screened 2 times") == true, "\(node)")
        #expect(fleet["rescreenFolders"] as? [String] == [again.path])
    }

    @Test(arguments: [
        (["fleet", "merge", "/nonexistent/fleet"], Int32(74), "cannot read the fleet folder /nonexistent/fleet"),
        (["fleet", "merge", "/tmp", "--expect", "n[1-"], Int32(64), "node list 'n[1-'"),
        (["fleet", "merge", "/tmp", "--alpha", "2"], Int32(64), "--alpha must be between 0 and 1"),
    ])
    func badInputIsOneLine(arguments: [String], status: Int32, message: String) throws {
        let outcome = try NodeBenchProcess.run(arguments)
        #expect(outcome.status == status)
        #expect(outcome.stderrLines.count == 1 && outcome.stderr.contains(message), "\(outcome.stderr)")
    }

    @Test func aCorruptNodeFileFailsItsNodeAndTheRestIsJudged() throws {
        let folder = try Self.simulatedFleet()
        try Data("{\"schemaVersion\": 5, \"results\": [".utf8).write(to: folder.appendingPathComponent("node0003.json"))
        let outcome = try NodeBenchProcess.run(["fleet", "merge", folder.path, "--output", temporaryFile("fleet.json").path])
        #expect(outcome.status == 2)
        #expect(outcome.stdout.contains("node0003  failed   unreadable: "), "\(outcome.stdout)")
        #expect(outcome.stderrLines.last == "fleet: 3 node(s) flagged: node0002 corrupt, node0003 failed, node0004 slow")
    }
}
