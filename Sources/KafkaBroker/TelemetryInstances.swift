import KafkaProtocol
import Synchronization

/// The client instances that asked for their telemetry subscription, and when (Kafka's ClientMetricsManager cache):
/// a client asking again before its push interval has passed is throttled. Entries expire after three push
/// intervals, and the cache holds at most `capacity` instances (the oldest go first), as Kafka's LRU cache.
final class TelemetryInstances: Sendable {
    static let capacity = 16_384

    private let lastRequestMs = Mutex<[KafkaUUID: Int64]>([:])

    /// Records a GetTelemetrySubscriptions of `instance` at `nowMs`; false when the previous one was less than
    /// `pushIntervalMs` ago (THROTTLING_QUOTA_EXCEEDED; the time of the earlier request is kept).
    func admit(_ instance: KafkaUUID, nowMs: Int64, pushIntervalMs: Int64) -> Bool {
        lastRequestMs.withLock { last in
            if let previous = last[instance], nowMs - previous < pushIntervalMs { return false }
            if last.count >= Self.capacity {
                last = last.filter { nowMs - $0.value < 3 * pushIntervalMs }
                while last.count >= Self.capacity, let oldest = last.min(by: { $0.value < $1.value }) {
                    last[oldest.key] = nil
                }
            }
            last[instance] = nowMs
            return true
        }
    }
}
