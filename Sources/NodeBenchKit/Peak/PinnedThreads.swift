import Foundation
import HwlocKit
import Synchronization

/// Runs the same body on one thread per core, each pinned to its core, all released at once.
struct PinnedThreads: @unchecked Sendable {
    /// hwloc binds threads concurrently without shared state; nil runs unpinned.
    let binder: CPUBinder?
    /// The core each thread is pinned to.
    let cores: [Int]
    var count: Int { cores.count }
    /// Pins hwloc refused, over every run so far.
    private let refusedPins = PinFailures()

    /// One thread on every core.
    init() {
        binder = try? CPUBinder()
        cores = Array(0..<(binder?.coreCount ?? ProcessInfo.processInfo.activeProcessorCount))
    }

    /// One thread on each of `cores` only, e.g. one NUMA node's.
    init(binder: CPUBinder?, cores: [Int]) {
        self.binder = binder
        self.cores = cores
    }

    /// What a measurement's configuration says of its threads: pinned, or why not all were.
    var description: String {
        guard binder != nil else { return "\(count) unpinned threads (hwloc could not load the topology)" }
        let refused = refusedPins.count
        return refused == 0 ? "\(count) pinned threads" : "\(count) threads, not all pinned (hwloc refused \(refused) binding(s))"
    }

    /// Calls `prepare(index)` on every thread (first-touch memory lands near its core), then
    /// `body(index)` released together; returns the seconds from the release to the last finish.
    func run(prepare: @escaping @Sendable (Int) -> Void = { _ in }, body: @escaping @Sendable (Int) -> Void) -> Double {
        let ready = DispatchSemaphore(value: 0)
        let go = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for index in 0..<count {
            done.enter()
            let thread = Thread { [binder, refusedPins] in
                if let binder, !binder.bindCurrentThread(toCore: cores[index]) { refusedPins.add() }
                prepare(index)
                ready.signal()
                go.wait()
                body(index)
                done.leave()
            }
            thread.start()
        }
        for _ in 0..<count { ready.wait() }
        let start = MonotonicClock.now()
        for _ in 0..<count { go.signal() }
        done.wait()
        return MonotonicClock.now() - start
    }
}

/// A count the probe threads add to.
private final class PinFailures: Sendable {
    private let refused = Mutex(0)

    func add() { refused.withLock { $0 += 1 } }
    var count: Int { refused.withLock { $0 } }
}
