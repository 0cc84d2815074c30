import Foundation
import OpenCLKit

/// Compute, bandwidth, transfer and launch-latency probes on one OpenCL device.
struct OpenCLProbes {
    let runtime: OpenCLDeviceRuntime
    let descriptor: DeviceDescriptor
    let device: Device
    let context: Context
    let queue: CommandQueue
    let policy: PeakPolicy

    init(device: OpenCLDeviceRuntime, policy: PeakPolicy) throws {
        runtime = device
        self.device = device.device
        descriptor = device.descriptor
        self.policy = policy
        queue = try device.queue()
        context = queue.context
    }


    /// Work-group shapes to try: CPUs want few work-items and wide vectors, GPUs many work-items.
    private var computeShapes: [(width: Int, local: Int)] {
        device.isCPU ? [(16, 1), (16, 2), (16, 8), (8, 8), (16, 16)] : [(1, 256), (2, 256), (4, 128), (1, 1024)]
    }

    func compute(_ dtype: DType) -> PeakMeasurement {
        let variant = dtype.rawValue
        if dtype == .fp64 && !device.supportsFP64 {
            return PeakMeasurement(device: descriptor.id, probe: .compute, variant: variant, status: .skipped, reason: "device has no fp64 (cl_khr_fp64)")
        }
        if dtype == .fp16 && !device.supportsFP16 {
            return PeakMeasurement(device: descriptor.id, probe: .compute, variant: variant, status: .skipped, reason: "device has no fp16 arithmetic (cl_khr_fp16)")
        }
        if dtype == .bf16 {
            return PeakMeasurement(device: descriptor.id, probe: .compute, variant: variant, status: .skipped, reason: "OpenCL has no bf16 arithmetic; bf16 GEMMs accumulate in fp32")
        }
        do {
            // Try each shape briefly, then measure the best one properly.
            var best: (rate: Double, width: Int, local: Int, kernel: Kernel, global: Int)?
            for shape in computeShapes where shape.local <= device.maxWorkGroupSize {
                let program = try runtime.program(
                    source: PeakKernelSource.compute, options: PeakKernelSource.computeOptions(dtype: dtype, width: shape.width))
                let kernel = try program.makeKernel(named: "peak_fma")
                let global = device.computeUnits * shape.local * (device.isCPU ? 8 : 16)
                let output = try context.makeBuffer(byteCount: global * dtype.storageBytes)
                try kernel.setArgument(0, output)
                let rate = try computeRate(kernel, global: global, local: shape.local, width: shape.width, seconds: policy.sampleSeconds / 4)
                if rate > (best?.rate ?? 0) { best = (rate, shape.width, shape.local, kernel, global) }
            }
            guard let best else { throw OpenCLError(call: "peak_fma", code: -54) }
            let rates = try (0..<policy.samples).map { _ throws in
                try computeRate(best.kernel, global: best.global, local: best.local, width: best.width, seconds: policy.sampleSeconds)
            }
            return PeakMeasurement(
                device: descriptor.id, probe: .compute, variant: variant, samples: rates,
                configuration: "\(PeakKernelSource.typeName(dtype))\(best.width == 1 ? "" : String(best.width)) x \(PeakKernelSource.chains) FMA chains, "
                    + "\(best.global) work-items in groups of \(best.local)")
        } catch {
            return PeakMeasurement(device: descriptor.id, probe: .compute, variant: variant, status: .failed, reason: Runner.describe(error))
        }
    }

    /// Runs the FMA kernel long enough for `seconds`; GFLOP/s on the host clock.
    private func computeRate(_ kernel: Kernel, global: Int, local: Int, width: Int, seconds: Double) throws -> Double {
        var iterations = 256
        while true {
            try kernel.setArgument(1, Int32(iterations))
            let elapsed = try wallSeconds(kernel, global: global, local: local)
            let flops = Double(global) * Double(iterations) * Double(PeakKernelSource.chains * width * 2)
            if elapsed >= seconds * 0.5 || iterations >= 1 << 28 { return flops / elapsed / 1e9 }
            iterations = Int(min(Double(1 << 28), Double(iterations) * max(2, seconds / max(elapsed, 1e-7))))
        }
    }

    /// Read, copy and triad over buffers much larger than any cache the device has.
    func memoryBandwidth(bufferBytes: Int) -> [PeakMeasurement] {
        let perItem = PeakKernelSource.float4sPerItem(isCPU: device.isCPU)
        let float4s = bufferBytes / 16 / perItem * perItem
        let items = float4s / perItem
        let configuration = "\(formatBytes(Double(float4s * 16))) per buffer, \(perItem) float4 per work-item"
        do {
            let program = try runtime.program(source: PeakKernelSource.bandwidth, options: PeakKernelSource.bandwidthOptions(perItem: perItem))
            let zeros = [Float](repeating: 1, count: float4s * 4)
            let a = try queue.upload(zeros), b = try queue.upload(zeros), c = try queue.upload(zeros)
            let sums = try context.makeBuffer(byteCount: items * 4)
            let read = try program.makeKernel(named: "bw_read")
            try read.setArgument(0, a)
            try read.setArgument(1, sums)
            let copy = try program.makeKernel(named: "bw_copy")
            try copy.setArgument(0, a)
            try copy.setArgument(1, b)
            let triad = try program.makeKernel(named: "bw_triad")
            try triad.setArgument(0, a)
            try triad.setArgument(1, b)
            try triad.setArgument(2, c)
            try triad.setArgument(3, Float(0.5))
            let bytesPerBuffer = Double(float4s * 16)
            return try [("read", read, bytesPerBuffer + Double(items * 4)), ("copy", copy, 2 * bytesPerBuffer), ("triad", triad, 3 * bytesPerBuffer)]
                .map { (name, kernel, bytes) throws in
                    let rates = try timedRuns(minimum: max(policy.samples, 3)) { () throws in
                        try wallSeconds(kernel, global: items, local: nil)
                    }.map { bytes / $0 / 1e9 }
                    return PeakMeasurement(device: descriptor.id, probe: .memoryBandwidth, variant: name, samples: rates, configuration: configuration)
                }
        } catch {
            return ["read", "copy", "triad"].map {
                PeakMeasurement(device: descriptor.id, probe: .memoryBandwidth, variant: $0, status: .failed, reason: Runner.describe(error))
            }
        }
    }

    /// Host-to-device writes, device-to-host reads and writes through a mapped buffer; host-timed.
    func transferBandwidth(bufferBytes: Int) -> [PeakMeasurement] {
        let count = bufferBytes / 4
        let configuration = "\(formatBytes(Double(count * 4))) per transfer, host clock"
        do {
            let host = [Float](repeating: 1, count: count)
            let buffer = try queue.upload(host)
            let bytes = Double(count * 4)
            let write = try timedRuns(minimum: policy.samples) { () throws in
                try MonotonicClock.time { () throws in try queue.write(host, to: buffer) }.seconds
            }
            var destination = [Float](repeating: 0, count: count)
            let read = try timedRuns(minimum: policy.samples) { () throws in
                try MonotonicClock.time { () throws in try queue.read(into: &destination, from: buffer) }.seconds
            }
            let mapped = try timedRuns(minimum: policy.samples) { () throws in
                try MonotonicClock.time { () throws in
                    try queue.writeMapped(buffer) { region in
                        host.withUnsafeBytes { region.copyMemory(from: $0) }
                    }
                }.seconds
            }
            return [("write", write), ("read", read), ("mapped", mapped)].map { name, seconds in
                PeakMeasurement(
                    device: descriptor.id, probe: .transferBandwidth, variant: name, samples: seconds.map { bytes / $0 / 1e9 },
                    configuration: configuration)
            }
        } catch {
            return ["write", "read", "mapped"].map {
                PeakMeasurement(device: descriptor.id, probe: .transferBandwidth, variant: $0, status: .failed, reason: Runner.describe(error))
            }
        }
    }

    /// An empty kernel's enqueue-to-end time, from the device's profiling counters.
    func launchLatency() -> PeakMeasurement {
        do {
            let program = try runtime.program(source: PeakKernelSource.bandwidth, options: PeakKernelSource.bandwidthOptions(perItem: 1))
            let kernel = try program.makeKernel(named: "empty")
            for _ in 0..<10 { try queue.enqueue(kernel, globalSize: [1], localSize: [1]).wait() }
            let latencies = try (0..<100).map { _ throws in
                let event = try queue.enqueue(kernel, globalSize: [1], localSize: [1])
                try event.wait()
                return try event.queuedToEndSeconds() * 1e6
            }
            return PeakMeasurement(
                device: descriptor.id, probe: .launchLatency, variant: "empty-kernel", samples: latencies,
                configuration: "1 work-item, profiling queued-to-end, 100 launches")
        } catch {
            return PeakMeasurement(device: descriptor.id, probe: .launchLatency, variant: "empty-kernel", status: .failed, reason: Runner.describe(error))
        }
    }

    /// One launch timed on the host clock, submission to completion. Profiling counters are not
    /// trusted here: some CPU drivers stamp a command's start when its first work-group starts, so a
    /// rate from them can exceed what the memory can deliver.
    private func wallSeconds(_ kernel: Kernel, global: Int, local: Int?) throws -> Double {
        try MonotonicClock.time { () throws in
            try queue.enqueue(kernel, globalSize: [global], localSize: local.map { [$0] }).wait()
        }.seconds
    }

    /// At least `minimum` runs and about the policy's sample time in all; returns each run's seconds.
    private func timedRuns(minimum: Int, _ run: () throws -> Double) throws -> [Double] {
        _ = try run()  // warm-up: first touch, page mapping
        var seconds: [Double] = []
        let start = MonotonicClock.now()
        while seconds.count < minimum || (MonotonicClock.now() - start < policy.sampleSeconds * Double(policy.samples) && seconds.count < 100) {
            seconds.append(try run())
        }
        return seconds
    }
}
