import Foundation
import Testing

@testable import HwlocKit

@Suite struct HwlocKitTests {
    @Test func discoversThisMachine() throws {
        let topology = try Topology.discover()
        #expect(topology.packages >= 1)
        #expect(topology.cores >= 1)
        #expect(topology.processingUnits >= topology.cores)
        // Linux may restrict this process to fewer CPUs than it has, never to more.
        #expect(topology.processingUnits >= ProcessInfo.processInfo.activeProcessorCount)
        #expect(!topology.numaNodes.isEmpty)
        #expect(topology.totalMemoryBytes == topology.numaNodes.reduce(0) { $0 + $1.memoryBytes })
        #expect(topology.totalMemoryBytes > 0)
        #expect(topology.caches.allSatisfy { $0.sizeBytes > 0 && $0.instances > 0 && (1...5).contains($0.level) })
        #expect(topology.hwlocAPIVersion.hasPrefix("2."))
    }

    @Test func topologyRoundTripsThroughJSON() throws {
        let topology = try Topology.discover()
        let decoded = try JSONDecoder().decode(Topology.self, from: JSONEncoder().encode(topology))
        #expect(decoded == topology)
    }

    @Test func pinsThreadsToCoresAndMapsCoresToNUMANodes() throws {
        let binder = try CPUBinder()
        #expect(binder.coreCount == (try Topology.discover()).cores)
        let byNode = binder.coresByNUMANode
        #expect(!byNode.isEmpty)
        #expect(Set(byNode.flatMap { $0 }) == Set(0..<binder.coreCount))
        #expect(binder.bindCurrentThread(toCore: binder.coreCount - 1))
    }
}
