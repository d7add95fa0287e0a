import Coordinator
/// Counters behind `srvr`, `stat` and `mntr`: packets in and out and request latency (arrival to reply, the
/// group-commit wait included), as ZooKeeper's `ServerStats`.
public struct ServerStatistics: Sendable, Equatable {
    public var packetsReceived = 0
    public var packetsSent = 0
    public private(set) var latencyMinMs: Int64 = 0
    public private(set) var latencyMaxMs: Int64 = 0
    private var latencyTotalMs: Int64 = 0
    private var latencyCount: Int64 = 0

    public init() {}

    public mutating func recordLatency(ms: Int64) {
        latencyMinMs = latencyCount == 0 ? ms : min(latencyMinMs, ms)
        latencyMaxMs = max(latencyMaxMs, ms)
        latencyTotalMs += ms
        latencyCount += 1
    }

    public var latencyAverageMs: Double { latencyCount == 0 ? 0 : Double(latencyTotalMs) / Double(latencyCount) }

    /// `srst`.
    public mutating func reset() {
        self = ServerStatistics()
    }
}
