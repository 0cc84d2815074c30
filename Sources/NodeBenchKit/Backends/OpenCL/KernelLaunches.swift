import OpenCLKit

/// Kernels that run one after another on a queue as one timed execution (packing, then compute).
struct KernelLaunches {
    struct Launch {
        let kernel: Kernel
        let global: [Int]
        /// nil: the driver chooses.
        let local: [Int]?
    }

    /// Launches that make up one named part of a path, and the FLOPs they execute (nil: not counted).
    struct Stage {
        let name: String
        let flops: Double?
        let launches: [Launch]
    }

    let queue: CommandQueue
    let launches: [Launch]
    /// Each stage's device time per execution, when the launches were given as stages.
    let stageTimes: StageTimes?

    init(queue: CommandQueue, launches: [Launch]) {
        self.queue = queue
        self.launches = launches
        stageTimes = nil
    }

    init(queue: CommandQueue, stages: [Stage]) {
        self.queue = queue
        launches = stages.flatMap(\.launches)
        stageTimes = StageTimes(stages.map { StageTimes.Stage(name: $0.name, flops: $0.flops, launchCount: $0.launches.count) })
    }

    /// Enqueues every launch, waits for the last; device time is the sum of their profiled times.
    func execute() throws -> SampleTime {
        let (events, wallSeconds) = try MonotonicClock.time { () throws -> [Event] in
            let events = try launches.map { launch in
                try queue.enqueue(launch.kernel, globalSize: launch.global, localSize: launch.local)
            }
            try events.last!.wait()
            return events
        }
        let launchSeconds = try events.map { try $0.deviceSeconds() }
        stageTimes?.record(launchSeconds: launchSeconds)
        return SampleTime(kernelSeconds: launchSeconds.reduce(0, +), wallSeconds: wallSeconds)
    }
}

/// `value` rounded up to a multiple of `multiple`.
func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }

/// The smallest positive multiple of every one of `values` (all positive).
func leastCommonMultiple(_ values: [Int]) -> Int {
    func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
    return values.reduce(1) { $0 / gcd($0, $1) * $1 }
}

/// One argument of a kernel, in its OpenCL C type.
enum KernelArgument {
    case int(Int32)
    case float(Float)
    case double(Double)
    case buffer(Buffer)
}

extension Program {
    /// The kernel `name` with its arguments set in order.
    func makeKernel(named name: String, arguments: [KernelArgument]) throws(OpenCLError) -> Kernel {
        let kernel = try makeKernel(named: name)
        for (index, argument) in arguments.enumerated() {
            switch argument {
            case .int(let value): try kernel.setArgument(index, value)
            case .float(let value): try kernel.setArgument(index, value)
            case .double(let value): try kernel.setArgument(index, value)
            case .buffer(let buffer): try kernel.setArgument(index, buffer)
            }
        }
        return kernel
    }
}
