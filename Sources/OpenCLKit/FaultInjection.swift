import COpenCL
import Synchronization

/// Faults a test or a fleet drill can make OpenCLKit produce on purpose, to prove that every layer
/// above reports them. Nothing is injected unless a caller scopes a plan with
/// `FaultInjection.$active.withValue(plan) { ... }`; the plan then acts on the OpenCL calls made
/// inside that scope only.
public enum InjectedFault: String, CaseIterable, Codable, Sendable {
    /// `clBuildProgram` fails with a compiler log.
    case build
    /// `clCreateBuffer` fails as a device out of memory does.
    case allocation
    /// `clEnqueueNDRangeKernel` fails as it does after a device error.
    case enqueue
    /// The next kernel never starts: it waits on an event nothing completes.
    case hang
    /// One bit of the first result read back is flipped (the lowest bit of its middle element).
    case bitflip
    /// The same bit of every result read back is flipped, as a unit that computes one value wrong
    /// every time: repeatable and inside the tolerance, so only other devices of the model can tell.
    case stuckbit
}

public final class FaultInjection: Sendable {
    /// The plan in force for the calls made in this scope; nil outside any.
    @TaskLocal public static var active: FaultInjection?

    public let fault: InjectedFault
    /// A bit flip and a hang act once per scope, as a single upset or a single stuck launch would.
    private let spent = Mutex(false)

    public init(_ fault: InjectedFault) { self.fault = fault }

    static func fails(_ kind: InjectedFault) -> Bool { active?.fault == kind }

    /// Takes the one-time fault if `kind` is planned and not yet spent.
    static func fireOnce(_ kind: InjectedFault) -> FaultInjection? {
        guard let plan = active, plan.fault == kind else { return nil }
        let first = plan.spent.withLock { spent in
            defer { spent = true }
            return !spent
        }
        return first ? plan : nil
    }

    /// Makes `queue` wait, from now on, on an event that never completes. The event is never
    /// released: like a hung device, the queue stays blocked for the rest of the process.
    static func hangIfPlanned(_ queue: cl_command_queue, context: cl_context) {
        guard fireOnce(.hang) != nil else { return }
        var status: cl_int = CL_SUCCESS
        var blocker = clCreateUserEvent(context, &status)
        if status == CL_SUCCESS { _ = clEnqueueBarrierWithWaitList(queue, 1, &blocker, nil) }
    }

    /// Flips the lowest bit of the middle element of `bytes`, made of elements of `stride` bytes.
    static func flipBitIfPlanned(_ bytes: UnsafeMutableRawBufferPointer, stride: Int) {
        guard bytes.count >= stride, fails(.stuckbit) || fireOnce(.bitflip) != nil else { return }
        bytes[bytes.count / stride / 2 * stride] ^= 1
    }
}
