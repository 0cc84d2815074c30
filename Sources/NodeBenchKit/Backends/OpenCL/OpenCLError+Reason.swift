import OpenCLKit

extension OpenCLError {
    /// How a failed OpenCL call reads in a case's `reason`.
    var caseFailureReason: String {
        if isOutOfMemory { return "device out of memory: \(self)" }
        if buildLog != nil { return "kernel build failed: \(self)" }
        return "\(self)"
    }
}
