import Foundation

/// Makes the backend of one implementation on one device of the node; OpenCL backends keep their
/// compiled programs in the session's disk cache as well as on the device.
struct BackendFactory {
    let inventory: NodeInventory
    let tuned: TunedParameters
    /// Where a program cache that cannot be used says so.
    let warn: (String) -> Void

    func make(_ implementation: Implementation, for device: DeviceDescriptor) throws -> KernelBackend {
        if device.isHost {
            switch implementation {
            case .openblas: return HostBLASBackend(device: device)
            case .naive: return HostAttentionBackend(device: device, fused: false)
            case .flash: return HostAttentionBackend(device: device, fused: true)
            case .stream: return HostLayerOpBackend(device: device)
            case .nodebench, .clblast: throw UsageError("\(implementation.rawValue) runs on OpenCL devices only")
            }
        }
        let openCLDevice = try inventory.openCL(device)
        let programs = ProgramCache(directory: ProgramCache.defaultDirectory) { warn("warning: \($0)") }
        switch implementation {
        case .nodebench:
            return try OpenCLGEMMBackend(device: openCLDevice, tuned: tuned, programCache: programs)
        case .clblast:
            return try CLBlastGEMMBackend(device: openCLDevice)
        case .naive, .flash:
            return try OpenCLAttentionBackend(
                device: openCLDevice, flash: implementation == .flash, tuned: tuned, programCache: programs)
        case .stream:
            return try OpenCLLayerOpBackend(device: openCLDevice, programCache: programs)
        case .openblas:
            throw UsageError("openblas runs on the host only")
        }
    }
}
