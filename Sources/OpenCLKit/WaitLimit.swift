import COpenCL
import Dispatch

/// How long a wait for a device command may last before the device counts as hung. Set around a
/// case's work with `WaitLimit.$seconds.withValue(limit) { ... }`; outside any scope waits are
/// unbounded. A driver cannot cancel a running kernel, so a timed-out queue is left to its fate.
public enum WaitLimit {
    @TaskLocal public static var seconds: Double?
}

/// A device command that did not finish within the wait limit.
public struct OpenCLTimeout: Error, CustomStringConvertible, Sendable {
    public let command: String
    public let seconds: Double

    public var description: String {
        "the device did not finish \(command) within \(seconds.formatted()) s (--case-timeout)"
    }
}

extension Double {
    /// "300" for 300.0, "2.5" for 2.5.
    fileprivate func formatted() -> String { self == rounded() ? String(Int(self)) : String(self) }
}

extension Event {
    /// Waits for the command under the scope's wait limit; a command that ended in an error
    /// status throws it.
    func waitWithinLimit() throws {
        guard let limit = WaitLimit.seconds else {
            var event: cl_event? = handle
            try check(clWaitForEvents(1, &event), "clWaitForEvents(\(command))")
            return
        }
        let deadline = DispatchTime.now() + limit
        // Submit what is queued: a callback, unlike clWaitForEvents, does not flush.
        if let queue = try? commandQueue() { clFlush(queue) }
        let done = DispatchSemaphore(value: 0)
        let token = Unmanaged.passRetained(done).toOpaque()
        try check(
            clSetEventCallback(handle, CL_COMPLETE, { _, _, token in
                Unmanaged<DispatchSemaphore>.fromOpaque(token!).takeRetainedValue().signal()
            }, token), "clSetEventCallback(\(command))")
        // Drivers that run commands only inside a blocking wait (Oclgrind) never call back on their
        // own: after a moment, a helper thread makes that wait. If the device is hung, the helper
        // stays blocked for the rest of the process, as the callback's semaphore stays retained.
        if done.wait(timeout: min(deadline, .now() + 0.05)) == .timedOut {
            clRetainEvent(handle)
            let retained = SharedEvent(handle: handle)
            DispatchQueue.global().async {
                var event: cl_event? = retained.handle
                clWaitForEvents(1, &event)
                clReleaseEvent(retained.handle)
                done.signal()
            }
            guard done.wait(timeout: deadline) == .success else { throw OpenCLTimeout(command: command, seconds: limit) }
        }
        let status = try executionStatus()
        if status < 0 { throw OpenCLError(call: command, code: status) }
    }
}

/// An event handle handed to another thread: OpenCL objects may be used from any thread.
private struct SharedEvent: @unchecked Sendable {
    let handle: cl_event
}
