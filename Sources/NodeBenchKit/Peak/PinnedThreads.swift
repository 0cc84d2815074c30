import Foundation
import HwlocKit

/// Runs the same body on one thread per core, each pinned to its core, all released at once.
struct PinnedThreads: @unchecked Sendable {
    /// hwloc binds threads concurrently without shared state; nil runs unpinned.
    let binder: CPUBinder?
    /// The core each thread is pinned to.
    let cores: [Int]
    var count: Int { cores.count }

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

    /// Calls `prepare(index)` on every thread (first-touch memory lands near its core), then
    /// `body(index)` released together; returns the seconds from the release to the last finish.
    func run(prepare: @escaping @Sendable (Int) -> Void = { _ in }, body: @escaping @Sendable (Int) -> Void) -> Double {
        let ready = DispatchSemaphore(value: 0)
        let go = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for index in 0..<count {
            done.enter()
            let thread = Thread { [binder] in
                binder?.bindCurrentThread(toCore: cores[index])
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
