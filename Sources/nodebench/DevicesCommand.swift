import ArgumentParser
import Foundation
import NodeBenchKit

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "Show the node: topology, host BLAS and every OpenCL platform and device.")

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let node = NodeDescription(NodeInventory.discover())
        if json {
            let data = try RunDocument.encoder.encode(DevicesDocument(tool: .current, node: node))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(DevicesReport.text(node), terminator: "")
        }
    }
}
