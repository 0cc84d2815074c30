/// Exit codes of the `nodebench` command, documented in the README.
public enum ExitStatus: Int32, Sendable {
    /// Every case ran and was verified (or was skipped for a stated reason).
    case ok = 0
    /// A case failed: wrong result, NaN, a kernel that did not build, a device error.
    case caseFailed = 1
    /// `check`: a case is slower than its baseline beyond the threshold.
    case regression = 2
    /// Bad input: an unknown option, device, dtype or shape.
    case usage = 64
    /// A file could not be read or written.
    case ioError = 74
}
