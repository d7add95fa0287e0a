import ZooKeeperProtocol

/// Session liveness: ZooKeeper's `SessionTrackerImpl` with its `ExpiryQueue`.
///
/// A session expires when nothing arrived from its client for its timeout. Deadlines are rounded up to the next
/// multiple of `tickMs` and sessions are grouped in buckets by deadline, so one check per tick finds every expired
/// session at once; a session therefore expires between T and T + tickTime after its last traffic (ZooKeeper: 4.4 s
/// for T = 4 s). Time is the caller's monotonic clock in milliseconds, passed in: the tracker never reads a clock.
public struct SessionTracker: Sendable {
    public let tickMs: Int64
    private var deadlines: [SessionID: Int64] = [:]
    private var timeouts: [SessionID: Int32] = [:]
    private var buckets: [Int64: Set<SessionID>] = [:]

    public init(tickMs: Int64) {
        precondition(tickMs > 0)
        self.tickMs = tickMs
    }

    public var count: Int { deadlines.count }

    public var sessionIDs: Dictionary<SessionID, Int64>.Keys { deadlines.keys }

    public func contains(_ session: SessionID) -> Bool { deadlines[session] != nil }

    public func timeout(of session: SessionID) -> Int32? { timeouts[session] }

    /// The deadline bucket a session touched at `now` falls in (`ExpiryQueue.roundToNextInterval`).
    private func bucket(for now: Int64, timeoutMs: Int32) -> Int64 {
        (now + Int64(timeoutMs)) / tickMs * tickMs + tickMs
    }

    /// Starts tracking a session (new, or restored after a restart) as if it had just been heard from.
    public mutating func add(_ session: SessionID, timeoutMs: Int32, now: Int64) {
        timeouts[session] = timeoutMs
        move(session, to: bucket(for: now, timeoutMs: timeoutMs))
    }

    /// Records traffic from a session; `timeoutMs` replaces its timeout (a reconnect negotiates anew).
    /// - Returns: false if the session is not tracked (closed or expired).
    @discardableResult
    public mutating func touch(_ session: SessionID, now: Int64, timeoutMs: Int32? = nil) -> Bool {
        guard let current = timeouts[session] else { return false }
        let timeout = timeoutMs ?? current
        timeouts[session] = timeout
        let deadline = bucket(for: now, timeoutMs: timeout)
        if deadlines[session] != deadline { move(session, to: deadline) }
        return true
    }

    public mutating func remove(_ session: SessionID) {
        guard let deadline = deadlines.removeValue(forKey: session) else { return }
        timeouts[session] = nil
        buckets[deadline]?.remove(session)
        if buckets[deadline]?.isEmpty == true { buckets[deadline] = nil }
    }

    /// Removes and returns the sessions whose deadline is at or before `now`, oldest deadline first (ids ascending
    /// within a bucket, for determinism).
    public mutating func expire(now: Int64) -> [SessionID] {
        let due = buckets.keys.filter { $0 <= now }.sorted()
        var expired: [SessionID] = []
        for deadline in due {
            for session in buckets.removeValue(forKey: deadline)!.sorted() {
                deadlines[session] = nil
                timeouts[session] = nil
                expired.append(session)
            }
        }
        return expired
    }

    /// When the next check is due (the earliest bucket), or nil with no sessions.
    public var nextDeadline: Int64? { buckets.keys.min() }

    private mutating func move(_ session: SessionID, to deadline: Int64) {
        if let old = deadlines[session] {
            buckets[old]?.remove(session)
            if buckets[old]?.isEmpty == true { buckets[old] = nil }
        }
        deadlines[session] = deadline
        buckets[deadline, default: []].insert(session)
    }
}
