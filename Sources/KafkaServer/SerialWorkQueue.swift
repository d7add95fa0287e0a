import NIOCore
import NIOPosix
import Synchronization

/// Runs closures one at a time, in submission order, on a shared thread pool.
///
/// Each connection owns one: its requests execute in order (so two produce requests on one connection are appended
/// in order, which idempotent producers rely on) while different connections run in parallel on the pool's
/// threads. Request handling happens here rather than on the event loops because it may block on disk (a pwrite
/// throttled by dirty-page writeback, an fsync, SQLite), and an event loop must never block.
final class SerialWorkQueue: Sendable {
    private struct State: ~Copyable {
        var pending = CircularBuffer<@Sendable () -> Void>()
        var running = false
    }

    private let pool: NIOThreadPool
    private let state = Mutex(State())
    /// Items run per turn before yielding the thread to other connections' queues.
    private static let batchLimit = 32

    init(pool: NIOThreadPool) {
        self.pool = pool
    }

    func submit(_ work: @escaping @Sendable () -> Void) {
        let start = state.withLock { state -> Bool in
            state.pending.append(work)
            if state.running { return false }
            state.running = true
            return true
        }
        if start { schedule() }
    }

    private func schedule() {
        pool.submit { [self] _ in drain() }
    }

    private func drain() {
        for _ in 0..<Self.batchLimit {
            guard let work = state.withLock({ state -> (@Sendable () -> Void)? in
                if state.pending.isEmpty {
                    state.running = false
                    return nil
                }
                return state.pending.removeFirst()
            }) else { return }
            work()
        }
        // More work remains: requeue behind other connections instead of monopolising this thread.
        schedule()
    }
}
