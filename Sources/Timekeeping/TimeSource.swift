import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where ledgerstream reads the time and waits: one seam for the client, the sink and the servers, so that tests
/// drive time (``ManualTimeSource``) instead of sleeping through linger, backoff, delivery and session timeouts.
///
/// Two clocks, because they answer different questions: the wall clock says *when* (record timestamps, retention,
/// LogAppendTime) and may jump when the system time is set; the monotonic clock measures *how long* (deadlines,
/// timeouts, backoff) and never jumps.
public protocol TimeSource: Sendable {
    /// Milliseconds since the Unix epoch.
    func wallClockMs() -> Int64
    /// Nanoseconds from an arbitrary fixed origin, never going back.
    func monotonicNanos() -> UInt64
    /// Suspends for `nanoseconds` of this source's monotonic time. Throws `CancellationError` if the task is
    /// cancelled meanwhile.
    func sleep(nanoseconds: UInt64) async throws
}

extension TimeSource {
    /// Monotonic milliseconds (see ``monotonicNanos()``).
    public func monotonicMs() -> Int64 { Int64(monotonicNanos() / 1_000_000) }

    /// Suspends for `milliseconds` (none if zero or negative).
    public func sleep(milliseconds: Int64) async throws {
        guard milliseconds > 0 else { return }
        try await sleep(nanoseconds: UInt64(milliseconds) * 1_000_000)
    }
}

/// The operating system's clocks (CLOCK_REALTIME and CLOCK_MONOTONIC) and `Task.sleep`.
public struct SystemTimeSource: TimeSource {
    public init() {}

    public func wallClockMs() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    public func monotonicNanos() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    public func sleep(nanoseconds: UInt64) async throws {
        try await Task.sleep(nanoseconds: nanoseconds)
    }
}

/// Time that moves only when a test says so: ``advance(byMilliseconds:)`` moves both clocks and wakes every sleeper
/// whose wake-up time has come, in wake-up order. Deterministic: nothing depends on how fast the machine is.
public final class ManualTimeSource: TimeSource {
    private struct Sleeper {
        var id: UInt64
        var wakeAt: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var wallMs: Int64
        var monotonic: UInt64 = 0
        var nextID: UInt64 = 0
        var sleepers: [Sleeper] = []
    }

    private let state: Mutex<State>

    public init(wallClockMs: Int64 = 1_700_000_000_000) {
        state = Mutex(State(wallMs: wallClockMs))
    }

    public func wallClockMs() -> Int64 { state.withLock { $0.wallMs } }

    public func monotonicNanos() -> UInt64 { state.withLock { $0.monotonic } }

    /// How many tasks are waiting in ``sleep(nanoseconds:)`` (a test advances time once they are all parked).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(nanoseconds: UInt64) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if Task.isCancelled || nanoseconds == 0 { return true }
                    state.sleepers.append(Sleeper(id: id, wakeAt: state.monotonic + nanoseconds, continuation: continuation))
                    return false
                }
                if resumeNow {
                    if Task.isCancelled { continuation.resume(throwing: CancellationError()) } else { continuation.resume() }
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves both clocks forward and wakes the sleepers that are due.
    public func advance(byMilliseconds milliseconds: Int64) {
        precondition(milliseconds >= 0, "time only moves forward")
        let due = state.withLock { state -> [Sleeper] in
            state.monotonic += UInt64(milliseconds) * 1_000_000
            state.wallMs += milliseconds
            let now = state.monotonic
            let due = state.sleepers.filter { $0.wakeAt <= now }.sorted { ($0.wakeAt, $0.id) < ($1.wakeAt, $1.id) }
            state.sleepers.removeAll { $0.wakeAt <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
