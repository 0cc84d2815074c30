import OpenCLKit
import Synchronization

/// One OpenCL device of the node as every backend, probe and tuner uses it. Discovery makes it
/// once; it owns the device's one context and in-order queue, made on first use (so listing
/// devices creates none), so a process holds one context per device however many implementations
/// run on it, and the programs built on that context, so each is built once per process whoever
/// asks. (Tuned parameters are not the device's: they belong to a `TuningStore` file keyed by the
/// device's model and driver, which one node writes and a whole fleet of the same model reads.)
public final class OpenCLDeviceRuntime: Sendable {
    public let device: Device
    public let descriptor: DeviceDescriptor
    /// The queue (and through it the context), or why it could not be made; made once.
    private let sharedQueue = Mutex<Result<CommandQueue, OpenCLError>?>(nil)
    /// Programs by source and build options; a failed build is kept, so it is reported, not retried.
    private let builtPrograms = Mutex<[String: Result<Program, OpenCLError>]>([:])

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

    /// `source` built with `options` on the device's context: once per process, through `disk` (the
    /// compiled binaries of earlier runs) when given. Without the compiler's warnings (`-w`, a
    /// standard option): PoCL's compiler prints their count to the terminal, such as the ABI notes
    /// every 16-float vector draws on an AVX2 CPU, and a failed build still throws with its errors.
    func program(source: String, options: String, disk: ProgramCache? = nil) throws(OpenCLError) -> Program {
        let options = options + " -w"
        let context = try queue().context
        let key = "\(fnv1a(source)) \(options)"
        let built = builtPrograms.withLock { programs in
            if programs[key] == nil {
                programs[key] = Result { () throws(OpenCLError) in
                    if let disk { return try disk.program(source: source, options: options, context: context) }
                    return try context.buildProgram(source: source, options: options)
                }
            }
            return programs[key]!
        }
        return try built.get()
    }
}
