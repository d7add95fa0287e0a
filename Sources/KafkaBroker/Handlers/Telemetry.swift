import KafkaProtocol
import NIOCore

// GetTelemetrySubscriptions (71) v0, KIP-714. Kafka advertises the telemetry APIs only when a client telemetry
// receiver (a metrics reporter implementing ClientTelemetry) is configured; ledgerstream has none, so ApiVersions
// leaves key 71 out (see `advertisedApis`) and librdkafka and Java clients never ask. A client that calls it anyway
// gets what Kafka's ClientMetricsManager answers with no client-metrics subscriptions: a fresh client instance id
// when it sent zero, no requested metrics, the default 5-minute push interval and 1 MiB telemetry limit; a client
// asking again before the push interval has passed is THROTTLING_QUOTA_EXCEEDED, as in Kafka (TelemetryInstances).
extension Broker {
    static let telemetryDefaultPushIntervalMs: Int32 = 300_000
    static let telemetryMaxBytes: Int32 = 1_048_576
    /// ClientMetricsManager's SUPPORTED_COMPRESSION_TYPES, preferred first: zstd, lz4, gzip, snappy.
    static let telemetryCompressionTypes: [Int8] = [4, 3, 1, 2]

    func handleGetTelemetrySubscriptions(_ request: GetTelemetrySubscriptionsRequest, _ context: RequestContext) -> RequestOutcome {
        let instanceId = request.clientInstanceId.isZero ? KafkaUUID.random() : request.clientInstanceId
        guard telemetryInstances.admit(instanceId, nowMs: clock.wallClockMs(),
                                       pushIntervalMs: Int64(Self.telemetryDefaultPushIntervalMs)) else {
            // Kafka's error response: the error code and nothing else.
            return context.respond(GetTelemetrySubscriptionsResponse(
                throttleTimeMs: 0, errorCode: ErrorCode.throttlingQuotaExceeded.rawValue))
        }
        return context.respond(GetTelemetrySubscriptionsResponse(
            throttleTimeMs: 0, errorCode: 0, clientInstanceId: instanceId,
            subscriptionId: Self.telemetrySubscriptionId(metrics: [], pushIntervalMs: Self.telemetryDefaultPushIntervalMs,
                                                         instanceId: instanceId),
            acceptedCompressionTypes: Self.telemetryCompressionTypes, pushIntervalMs: Self.telemetryDefaultPushIntervalMs,
            telemetryMaxBytes: Self.telemetryMaxBytes, deltaTemporality: true, requestedMetrics: []))
    }

    /// Kafka's `computeSubscriptionId`: CRC-32C of the metric set as Java prints it ("[a, b]") followed by the push
    /// interval, XORed with the instance id's Java hashCode.
    static func telemetrySubscriptionId(metrics: [String], pushIntervalMs: Int32, instanceId: KafkaUUID) -> Int32 {
        let text = "[" + metrics.joined(separator: ", ") + "]" + "\(pushIntervalMs)"
        let crc = CRC32C.checksum(ByteBuffer(string: text))
        let xor = instanceId.high ^ instanceId.low
        let hash = Int32(truncatingIfNeeded: xor >> 32) ^ Int32(truncatingIfNeeded: xor)
        return Int32(bitPattern: crc) ^ hash
    }
}
