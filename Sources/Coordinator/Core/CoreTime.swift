/// The time of an input to the coordinator, read by its owner: the core never reads a clock.
public struct CoreTime: Sendable, Equatable {
    /// Wall-clock milliseconds since 1970: transaction times (ctime, mtime).
    public var wallMs: Int64
    /// A monotonic clock in nanoseconds: session expiry and latency.
    public var monotonicNanos: UInt64

    public init(wallMs: Int64, monotonicNanos: UInt64) {
        self.wallMs = wallMs
        self.monotonicNanos = monotonicNanos
    }

    /// Both clocks from one millisecond count (tests).
    public init(ms: Int64) {
        wallMs = ms
        monotonicNanos = UInt64(ms) * 1_000_000
    }

    public var monotonicMs: Int64 { Int64(monotonicNanos / 1_000_000) }
}
