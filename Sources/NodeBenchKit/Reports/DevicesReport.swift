import Foundation
import HwlocKit

/// What `nodebench devices` prints for a person.
public enum DevicesReport {
    public static func text(_ node: NodeDescription) -> String {
        var lines: [String] = []
        let host = node.host
        lines.append("Host      \(host.hostname): \(host.operatingSystem), \(host.kernel), \(host.architecture)")
        if let topology = node.topology {
            lines.append(
                "CPU       \(topology.cpuModel ?? "unknown model"): \(topology.packages) package(s), \(topology.cores) cores, "
                    + "\(topology.processingUnits) hardware threads" + (node.cpu.kernelBuild.map { "; host kernels: \($0)" } ?? ""))
            let caches = topology.caches.map { "L\($0.level)\($0.kind == "instruction" ? "i" : "") \(formatBytes(Double($0.sizeBytes))) x\($0.instances)" }
            lines.append("Caches    \(caches.joined(separator: ", "))")
            lines.append("Memory    \(memoryLine(topology, kernelBytes: host.physicalMemoryBytes))")
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
                device.id, device.type.rawValue, device.name, device.computeUnits.map(String.init) ?? "-",
                device.maxClockMHz.map(String.init) ?? "-",
                device.globalMemoryBytes.map { formatBytes(Double($0)) } ?? "-",
                device.fp64 ? "yes" : "no", device.fp16 ? "yes" : "no",
                device.isHost ? "\(blas.library) \(blas.coreName)" : device.driver ?? "-",
            ])
        }
        lines.append(table.render())
        lines.append(node.summary)
        for problem in node.problems { lines.append("warning: \(problem)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// hwloc reads each NUMA node's memory from sysfs, which some virtual machines report short;
    /// when it and the kernel's MemTotal disagree, both are said.
    static func memoryLine(_ topology: Topology, kernelBytes: UInt64) -> String {
        let numa = "\(topology.numaNodes.count) NUMA node(s): "
            + topology.numaNodes.map { "node \($0.index) \(formatBytes(Double($0.memoryBytes)))" }.joined(separator: ", ")
        let numaBytes = Double(topology.totalMemoryBytes), kernel = Double(kernelBytes)
        guard abs(numaBytes - kernel) > 0.1 * max(numaBytes, kernel) else { return "\(formatBytes(numaBytes)) in \(numa)" }
        return "\(formatBytes(kernel)) (the kernel's MemTotal); the \(numa) hold \(formatBytes(numaBytes)) as hwloc reads them from sysfs"
    }
}
