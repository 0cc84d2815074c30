import OpenCLKit
import Synchronization

/// One OpenCL device of the node as every backend, probe and tuner uses it. Discovery makes it
/// once; it owns the device's one context and in-order queue, made on first use (so listing
/// devices creates none), so a process holds one context per device however many implementations
/// run on it.
public final class OpenCLDeviceRuntime: Sendable {
    public let device: Device
    public let descriptor: DeviceDescriptor
    /// The queue (and through it the context), or why it could not be made; made once.
    private let sharedQueue = Mutex<Result<CommandQueue, OpenCLError>?>(nil)

    init(_ device: Device) {
        self.device = device
        descriptor = DeviceDescriptor(openCL: device)
    }

    /// The device's queue, on its one context.
    func queue() throws(OpenCLError) -> CommandQueue {
        let made = sharedQueue.withLock { shared in
            if shared == nil {
                shared = Result { () throws(OpenCLError) in try CommandQueue(context: try Context(device: device)) }
            }
            return shared!
        }
        return try made.get()
    }
}
