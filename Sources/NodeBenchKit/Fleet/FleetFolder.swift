import Foundation
import Synchronization

/// The folder a fleet's nodes wrote their result files into, one `NODE.json` each (the name is
/// the node's, as Slurm's `SLURMD_NODENAME` gives it).
public enum FleetFolder {
    /// Where `fleet merge` writes by default: `results/fleet/job-12` writes
    /// `results/fleet/job-12.fleet.json`, beside the folder, so that a later merge does not read it
    /// as a node.
    public static func documentPath(for folder: String) -> String {
        (folder.hasSuffix("/") && folder.count > 1 ? String(folder.dropLast()) : folder) + ".fleet.json"
    }

    /// Every `*.json` file of `path`, read on all cores without the raw samples (the merge reads
    /// repetitions and summaries); a file that does not load is kept as the reason it does not, so
    /// its node is reported rather than dropped.
    public static func load(_ path: String) throws(CommandFailure) -> [FleetMerge.NodeRun] {
        let folder = URL(fileURLWithPath: path)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw CommandFailure(status: .ioError, message: "cannot read the fleet folder \(path): \(error.localizedDescription)")
        }
        guard !names.isEmpty else { throw CommandFailure(status: .ioError, message: "\(path) holds no result file (*.json)") }
        let runs = Mutex([FleetMerge.NodeRun?](repeating: nil, count: names.count))
        DispatchQueue.concurrentPerform(iterations: names.count) { index in
            let name = names[index]
            let document = Result { () throws(RunDocument.LoadError) in try RunDocument.load(from: folder.appendingPathComponent(name), samples: false) }
            let run = FleetMerge.NodeRun(name: String(name.dropLast(".json".count)), file: name, document: document)
            runs.withLock { $0[index] = run }
        }
        return runs.withLock { $0.compactMap { $0 } }
    }
}
