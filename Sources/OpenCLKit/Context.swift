import COpenCL

/// One OpenCL context on one device. Owns the `cl_context`. Immutable, and OpenCL objects other
/// than kernels may be used from any thread, so it may be shared.
public final class Context: @unchecked Sendable {
    let handle: cl_context
    public let device: Device

    public init(device: Device) throws(OpenCLError) {
        self.device = device
        var deviceID: cl_device_id? = device.id
        handle = try checked("clCreateContext") { status in
            clCreateContext(nil, 1, &deviceID, nil, nil, status)
        }
    }

    deinit { ReleaseFailures.check(clReleaseContext(handle), "clReleaseContext") }

    /// A device buffer of `byteCount` bytes, uninitialised.
    public func makeBuffer(byteCount: Int) throws(OpenCLError) -> Buffer {
        try Buffer(context: self, byteCount: byteCount)
    }

    /// Compiles `source` for this context's device; a failed build throws with the compiler's log.
    public func buildProgram(source: String, options: String = "") throws(OpenCLError) -> Program {
        try Program(context: self, source: source, options: options)
    }

    /// Rebuilds a program from a binary `Program.binary()` returned on this device and driver.
    public func buildProgram(binary: [UInt8], options: String = "") throws(OpenCLError) -> Program {
        try Program(context: self, binary: binary, options: options)
    }
}

/// An in-order command queue with profiling on, so every command's device time can be read.
/// Shareable like `Context`; its commands run in the order they were enqueued from any thread.
public final class CommandQueue: @unchecked Sendable {
    package let handle: cl_command_queue
    public let context: Context

    public init(context: Context) throws(OpenCLError) {
        self.context = context
        handle = try checked("clCreateCommandQueue") { status in
            clCreateCommandQueue(
                context.handle, context.device.id, cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE), status)
        }
    }

    deinit { ReleaseFailures.check(clReleaseCommandQueue(handle), "clReleaseCommandQueue") }

    /// Copies `values` into `buffer` and waits until the copy is done.
    public func write<T: BitwiseCopyable>(_ values: [T], to buffer: Buffer) throws(OpenCLError) {
        let bytes = values.count * MemoryLayout<T>.stride
        precondition(bytes <= buffer.byteCount, "write of \(bytes) bytes into a \(buffer.byteCount)-byte buffer")
        let status = values.withUnsafeBytes { raw in
            clEnqueueWriteBuffer(handle, buffer.handle, cl_bool(CL_TRUE), 0, bytes, raw.baseAddress, 0, nil, nil)
        }
        try check(status, "clEnqueueWriteBuffer")
    }

    /// A new buffer holding a copy of `values`.
    public func upload<T: BitwiseCopyable>(_ values: [T]) throws(OpenCLError) -> Buffer {
        let buffer = try context.makeBuffer(byteCount: max(1, values.count * MemoryLayout<T>.stride))
        try write(values, to: buffer)
        return buffer
    }

    /// Overwrites `values` with the start of `buffer`, waiting for the copy (no allocation).
    public func read<T: BitwiseCopyable>(into values: inout [T], from buffer: Buffer) throws(OpenCLError) {
        let bytes = values.count * MemoryLayout<T>.stride
        precondition(bytes <= buffer.byteCount, "read of \(bytes) bytes from a \(buffer.byteCount)-byte buffer")
        let status = values.withUnsafeMutableBytes { raw in
            let status = clEnqueueReadBuffer(handle, buffer.handle, cl_bool(CL_TRUE), 0, bytes, raw.baseAddress, 0, nil, nil)
            FaultInjection.flipBitIfPlanned(raw, stride: MemoryLayout<T>.stride)
            return status
        }
        try check(status, "clEnqueueReadBuffer")
    }

    /// Overwrites the start of `values` with `count` values of `buffer` from value `offset` on: one piece
    /// of a read of `total` values made in pieces (a planned bit flip lands where one whole read of
    /// the `total` would put it), waiting for the copy (no allocation).
    public func read<T: BitwiseCopyable>(
        into values: inout [T], count: Int, from buffer: Buffer, at offset: Int, ofTotal total: Int
    ) throws(OpenCLError) {
        let stride = MemoryLayout<T>.stride
        precondition(count <= values.count && (offset + count) * stride <= buffer.byteCount && offset + count <= total,
                      "read of \(count) values at \(offset) of \(total) from a \(buffer.byteCount)-byte buffer into \(values.count)")
        let status = values.withUnsafeMutableBytes { raw in
            let status = clEnqueueReadBuffer(handle, buffer.handle, cl_bool(CL_TRUE), offset * stride, count * stride, raw.baseAddress, 0, nil, nil)
            let middle = total / 2 - offset
            if middle >= 0 && middle < count {
                FaultInjection.flipBitIfPlanned(UnsafeMutableRawBufferPointer(rebasing: raw[(middle * stride)..<((middle + 1) * stride)]), stride: stride)
            }
            return status
        }
        try check(status, "clEnqueueReadBuffer")
    }

    /// Reads `count` values of type `T` from the start of `buffer`, waiting for the copy.
    public func read<T: BitwiseCopyable>(_: T.Type, count: Int, from buffer: Buffer) throws(OpenCLError) -> [T] {
        let bytes = count * MemoryLayout<T>.stride
        precondition(bytes <= buffer.byteCount, "read of \(bytes) bytes from a \(buffer.byteCount)-byte buffer")
        var status: cl_int = CL_SUCCESS
        let values = [T](unsafeUninitializedCapacity: count) { storage, initialized in
            status = clEnqueueReadBuffer(
                handle, buffer.handle, cl_bool(CL_TRUE), 0, bytes, UnsafeMutableRawPointer(storage.baseAddress), 0,
                nil, nil)
            initialized = status == CL_SUCCESS ? count : 0
            FaultInjection.flipBitIfPlanned(UnsafeMutableRawBufferPointer(start: storage.baseAddress, count: bytes), stride: MemoryLayout<T>.stride)
        }
        try check(status, "clEnqueueReadBuffer")
        return values
    }

    /// Maps `buffer` for writing (its old contents discarded), lets `body` fill the mapped bytes,
    /// then unmaps it and waits for the unmap to finish.
    public func writeMapped(_ buffer: Buffer, _ body: (UnsafeMutableRawBufferPointer) -> Void) throws(OpenCLError) {
        let pointer = try checked("clEnqueueMapBuffer") { status in
            clEnqueueMapBuffer(
                handle, buffer.handle, cl_bool(CL_TRUE), cl_map_flags(CL_MAP_WRITE_INVALIDATE_REGION), 0,
                buffer.byteCount, 0, nil, nil, status)
        }
        body(UnsafeMutableRawBufferPointer(start: pointer, count: buffer.byteCount))
        try check(clEnqueueUnmapMemObject(handle, buffer.handle, pointer, 0, nil, nil), "clEnqueueUnmapMemObject")
        // Transfers wait unbounded: only kernels are held to the wait limit.
        try check(clFinish(handle), "clFinish")
    }

    /// Launches `kernel` over a `globalSize` grid in `localSize` work-groups (nil: the driver's choice).
    public func enqueue(_ kernel: Kernel, globalSize: [Int], localSize: [Int]?) throws(OpenCLError) -> Event {
        precondition((1...3).contains(globalSize.count), "an NDRange has one to three dimensions")
        precondition(localSize == nil || localSize!.count == globalSize.count, "local and global ranks differ")
        if FaultInjection.fails(.enqueue) {
            throw OpenCLError(call: "clEnqueueNDRangeKernel(\(kernel.name)) [injected fault]", code: CL_INVALID_COMMAND_QUEUE)
        }
        FaultInjection.hangIfPlanned(handle, context: context.handle)
        var event: cl_event?
        let status = globalSize.withUnsafeBufferPointer { global in
            if let localSize {
                return localSize.withUnsafeBufferPointer { local in
                    clEnqueueNDRangeKernel(
                        handle, kernel.handle, cl_uint(global.count), nil, global.baseAddress, local.baseAddress, 0,
                        nil, &event)
                }
            }
            return clEnqueueNDRangeKernel(
                handle, kernel.handle, cl_uint(global.count), nil, global.baseAddress, nil, 0, nil, &event)
        }
        try check(status, "clEnqueueNDRangeKernel(\(kernel.name))")
        guard let event else { throw OpenCLError(call: "clEnqueueNDRangeKernel(\(kernel.name))", code: CL_INVALID_EVENT) }
        return Event(handle: event, command: "kernel \(kernel.name)")
    }

    /// Blocks until every command in the queue has finished, within the scope's `WaitLimit`.
    public func finish() throws {
        guard WaitLimit.seconds != nil else { return try check(clFinish(handle), "clFinish") }
        FaultInjection.hangIfPlanned(handle, context: context.handle)
        var marker: cl_event?
        try check(clEnqueueMarkerWithWaitList(handle, 0, nil, &marker), "clEnqueueMarkerWithWaitList")
        guard let marker else { throw OpenCLError(call: "clEnqueueMarkerWithWaitList", code: CL_INVALID_EVENT) }
        try Event(handle: marker, command: "the queued commands").wait()
    }
}

/// A device memory buffer. Owns the `cl_mem`.
public final class Buffer {
    package let handle: cl_mem
    public let byteCount: Int

    init(context: Context, byteCount: Int) throws(OpenCLError) {
        precondition(byteCount > 0, "an OpenCL buffer needs at least one byte")
        if FaultInjection.fails(.allocation) {
            throw OpenCLError(call: "clCreateBuffer(\(byteCount) bytes) [injected fault]", code: CL_MEM_OBJECT_ALLOCATION_FAILURE)
        }
        self.byteCount = byteCount
        handle = try checked("clCreateBuffer(\(byteCount) bytes)") { status in
            clCreateBuffer(context.handle, cl_mem_flags(CL_MEM_READ_WRITE), byteCount, nil, status)
        }
    }

    deinit { ReleaseFailures.check(clReleaseMemObject(handle), "clReleaseMemObject") }
}

/// A command's completion event, which carries its device-side timing.
public final class Event {
    let handle: cl_event
    /// What the command was, for messages: a kernel's name.
    let command: String

    /// Takes ownership of an event another library (CLBlast) returned.
    package init(handle: cl_event, command: String) {
        self.handle = handle
        self.command = command
    }

    deinit { ReleaseFailures.check(clReleaseEvent(handle), "clReleaseEvent") }

    /// Waits for the command within the scope's `WaitLimit`: a command still running at the limit
    /// throws `OpenCLTimeout`, one that ended in an error status throws it as an `OpenCLError`.
    public func wait() throws {
        try waitWithinLimit()
    }

    /// Device time from the command's start to its end, in seconds (from profiling counters).
    public func deviceSeconds() throws(OpenCLError) -> Double {
        let start = try profilingCounter(CL_PROFILING_COMMAND_START)
        let end = try profilingCounter(CL_PROFILING_COMMAND_END)
        return Double(end &- start) * 1e-9
    }

    /// Time from the command's enqueueing to its end, in seconds: launch overhead included.
    public func queuedToEndSeconds() throws(OpenCLError) -> Double {
        let queued = try profilingCounter(CL_PROFILING_COMMAND_QUEUED)
        let end = try profilingCounter(CL_PROFILING_COMMAND_END)
        return Double(end &- queued) * 1e-9
    }

    func commandQueue() throws(OpenCLError) -> cl_command_queue? {
        try InfoQuery(call: "clGetEventInfo(CL_EVENT_COMMAND_QUEUE)") { size, value, sizeRet in
            clGetEventInfo(self.handle, cl_event_info(CL_EVENT_COMMAND_QUEUE), size, value, sizeRet)
        }.value(cl_command_queue?.self)
    }

    func executionStatus() throws(OpenCLError) -> cl_int {
        try InfoQuery(call: "clGetEventInfo(CL_EVENT_COMMAND_EXECUTION_STATUS)") { size, value, sizeRet in
            clGetEventInfo(self.handle, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), size, value, sizeRet)
        }.value(cl_int.self)
    }

    private func profilingCounter(_ param: Int32) throws(OpenCLError) -> cl_ulong {
        try InfoQuery(call: "clGetEventProfilingInfo") { size, value, sizeRet in
            clGetEventProfilingInfo(self.handle, cl_profiling_info(param), size, value, sizeRet)
        }.value(cl_ulong.self)
    }
}
