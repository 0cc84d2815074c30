import Foundation

/// What `nodebench devices` prints for a person.
public enum DevicesReport {
    public static func text(_ node: NodeDescription) -> String {
        var lines: [String] = []
        let host = node.host
        lines.append("Host      \(host.hostname): \(host.operatingSystem), \(host.kernel), \(host.architecture)")
        if let topology = node.topology {
            lines.append(
                "CPU       \(topology.cpuModel ?? "unknown model"): \(topology.packages) package(s), \(topology.cores) cores, "
                    + "\(topology.processingUnits) hardware threads")
            let caches = topology.caches.map { "L\($0.level)\($0.kind == "instruction" ? "i" : "") \(formatBytes(Double($0.sizeBytes))) x\($0.instances)" }
            lines.append("Caches    \(caches.joined(separator: ", "))")
            let numa = topology.numaNodes.map { "node \($0.index) \(formatBytes(Double($0.memoryBytes)))" }
            lines.append("Memory    \(formatBytes(Double(topology.totalMemoryBytes))) in \(topology.numaNodes.count) NUMA node(s): \(numa.joined(separator: ", "))")
            if !topology.ioDevices.isEmpty {
                let io = topology.ioDevices.map { "\($0.kind) \($0.name)\($0.detail.map { " (\($0))" } ?? "")" }
                lines.append("I/O       \(io.joined(separator: ", "))")
            }
        }
        let blas = node.blas
        lines.append(
            "BLAS      \(blas.library) \(blas.version ?? "") core \(blas.coreName), \(blas.threads) thread(s), \(blas.parallelism)")
        lines.append("          \(blas.configuration)")
        if node.openclPlatforms.isEmpty {
            lines.append("OpenCL    no platform installed")
        }
        for platform in node.openclPlatforms {
            lines.append("OpenCL    platform \(platform.index): \(platform.name) (\(platform.vendor)), \(platform.version)")
        }
        lines.append("")
        var table = TextTable([
            ("id", .left), ("type", .left), ("name", .left), ("units", .right), ("MHz", .right), ("memory", .right),
            ("fp64", .left), ("fp16", .left), ("driver", .left),
        ])
        for device in node.devices {
            table.add([
                device.id, device.type, device.name, device.computeUnits.map(String.init) ?? "-",
                device.maxClockMHz.map(String.init) ?? "-",
                device.globalMemoryBytes.map { formatBytes(Double($0)) } ?? "-",
                device.fp64 ? "yes" : "no", device.fp16 ? "yes" : "no",
                device.backend == "blas" ? "\(blas.library) \(blas.coreName)" : device.driver ?? "-",
            ])
        }
        lines.append(table.render())
        lines.append(node.summary)
        for problem in node.problems { lines.append("warning: \(problem)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
