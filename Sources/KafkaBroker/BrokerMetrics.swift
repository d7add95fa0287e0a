import CoreMetrics
import GroupCoordinator
import KafkaProtocol
import LogStorage
import Synchronization

/// The broker's metrics, as swift-metrics handles made by one factory (the process's registry, or the no-op one).
///
/// The request path must stay cheap (the produce path may lose at most 3 % to metrics), so a handle is created once —
/// per API, per API version, per topic, per partition — and reused; a request costs a dictionary lookup under a
/// short lock and a few atomic increments. Values that live elsewhere (partition sizes and offsets, group states,
/// producers, parked fetches) are read at scrape time by ``Broker/collectMetrics()`` instead of on every change.
///
/// Names and labels follow Kafka's JMX metrics where Kafka has one (RequestMetrics, BrokerTopicMetrics, Log), under
/// the `ledgerstream_broker_` prefix; ``catalog`` documents each.
public final class BrokerMetrics: Sendable {
    /// Every metric this type creates, with its help text (rendered as `# HELP`).
    public static let catalog: [(name: String, help: String)] = [
        ("ledgerstream_broker_requests_total", "Kafka requests received, by API (Kafka's name) and request version."),
        ("ledgerstream_broker_request_errors_total",
         "Error codes in responses, by API, version and Kafka error name (each occurrence, as Kafka's ErrorsPerSec); also requests refused undecoded (UNSUPPORTED_VERSION, INVALID_REQUEST)."),
        ("ledgerstream_broker_request_queue_time_seconds", "Time from a request's arrival until a request thread starts it (Kafka's RequestQueueTimeMs)."),
        ("ledgerstream_broker_request_local_time_seconds", "Time a request thread spent handling a request (Kafka's LocalTimeMs)."),
        ("ledgerstream_broker_request_total_time_seconds",
         "Time from a request's arrival until its response was written to the connection, long-poll waits included (Kafka's TotalTimeMs)."),
        ("ledgerstream_broker_topic_bytes_in_total", "Record batch bytes appended by Produce, by topic."),
        ("ledgerstream_broker_topic_records_in_total", "Records appended by Produce, by topic."),
        ("ledgerstream_broker_topic_bytes_out_total", "Record batch bytes sent in Fetch responses, by topic."),
        ("ledgerstream_broker_topic_records_out_total",
         "Records in the whole batches sent in Fetch responses, by topic (the offsets the batches span)."),
        ("ledgerstream_broker_connections", "Open client connections, by listener name."),
        ("ledgerstream_broker_parked_fetches", "Fetches waiting in the purgatory for data (long polling)."),
        ("ledgerstream_broker_under_min_isr_partitions", "Partitions with fewer in-sync replicas than min.insync.replicas (always 0: one broker)."),
        ("ledgerstream_broker_log_size_bytes", "Bytes in a partition's segments."),
        ("ledgerstream_broker_log_segments", "Segments of a partition's log."),
        ("ledgerstream_broker_log_start_offset", "First offset still readable in a partition."),
        ("ledgerstream_broker_log_end_offset", "Next offset a partition will assign (the high watermark: one broker)."),
        ("ledgerstream_broker_log_flush_time_seconds", "Time to fsync a log's unflushed segments (Kafka's LogFlushRateAndTimeMs)."),
        ("ledgerstream_broker_groups", "Consumer groups by protocol (classic, consumer) and state."),
        ("ledgerstream_broker_group_rebalances_total",
         "Group rebalances: classic join phases completed (generation bumps) and KIP-848 group epoch bumps."),
        ("ledgerstream_broker_producer_ids", "Producer ids with state kept by the partitions (summed over partitions, as Kafka's ProducerIdCount)."),
        ("ledgerstream_broker_producer_ids_allocated_total", "Producer ids handed out by InitProducerId (idempotent and transactional producers)."),
    ]

    let factory: any MetricsFactory
    /// False with the no-op factory: the request path then does not even read the clock.
    public let isEnabled: Bool
    let parkedFetches: Gauge
    let underMinIsr: Gauge
    let producerIds: Gauge
    let producerIdsAllocated: Counter
    let rebalances: Counter
    let flushTime: Timer
    private let groups: [GroupStateKey: Gauge]

    private struct State: ~Copyable {
        var apis: [Int16: ApiMetrics] = [:]
        var requests: [Int32: Counter] = [:]
        var errors: [ErrorKey: Counter] = [:]
        var connections: [String: Meter] = [:]
        var partitions: [PartitionKey: PartitionGauges] = [:]
        var rebalancesSeen: UInt64 = 0
    }

    private struct ErrorKey: Hashable {
        var api: Int16
        var version: Int16
        var code: Int16
    }

    struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    private let state = Mutex(State())

    /// - Parameter factory: the process's metrics (`MetricsRegistry.factory`); the no-op factory turns metrics off.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        isEnabled = !(factory is NOOPMetricsHandler)
        parkedFetches = Gauge(label: "ledgerstream_broker_parked_fetches", factory: factory)
        underMinIsr = Gauge(label: "ledgerstream_broker_under_min_isr_partitions", factory: factory)
        underMinIsr.record(0)
        producerIds = Gauge(label: "ledgerstream_broker_producer_ids", factory: factory)
        producerIdsAllocated = Counter(label: "ledgerstream_broker_producer_ids_allocated_total", factory: factory)
        rebalances = Counter(label: "ledgerstream_broker_group_rebalances_total", factory: factory)
        flushTime = Timer(label: "ledgerstream_broker_log_flush_time_seconds", factory: factory)
        var groups: [GroupStateKey: Gauge] = [:]
        for key in GroupStateKey.all {
            groups[key] = Gauge(label: "ledgerstream_broker_groups",
                                dimensions: [("protocol", key.groupProtocol), ("state", key.state)], factory: factory)
        }
        self.groups = groups
    }

    /// Metrics off: every handle is a no-op.
    public static let disabled = BrokerMetrics()

    // MARK: Requests

    /// Kafka's name for an API (`RequestMetrics`' `request` tag): "Produce", "Fetch", "ApiVersions"…; "unknown" for
    /// keys ledgerstream does not implement (any number could arrive, and each would be a new series).
    static func apiName(_ key: ApiKey) -> String { key.schema?.name ?? "unknown" }

    /// Counts a request of `key` at `version` and returns its API's timers. `version` nil: a version the broker does
    /// not implement (labelled "unsupported", so a client cannot create a series per number it sends).
    func request(_ key: ApiKey, version: Int16?) -> ApiMetrics {
        let apiKey = key.schema == nil ? Int16(-1) : key.rawValue
        let versionKey = version.map { Int32($0) } ?? -1
        let (api, counter) = state.withLock { state -> (ApiMetrics, Counter) in
            let api = state.apis[apiKey] ?? {
                let created = ApiMetrics(name: Self.apiName(key), factory: factory)
                state.apis[apiKey] = created
                return created
            }()
            let slot = Int32(apiKey) << 16 | (versionKey & 0xFFFF)
            if let counter = state.requests[slot] { return (api, counter) }
            let counter = Counter(label: "ledgerstream_broker_requests_total",
                                  dimensions: [("api", api.name), ("version", Self.versionLabel(version))], factory: factory)
            state.requests[slot] = counter
            return (api, counter)
        }
        counter.increment()
        return api
    }

    static func versionLabel(_ version: Int16?) -> String { version.map { String($0) } ?? "unsupported" }

    /// Counts the non-zero error codes of a response, each occurrence once (Kafka's `updateErrorMetrics` marks each
    /// error's meter by its count in the response's `errorCounts`; NONE is not counted here).
    func countErrors<R: KafkaResponse>(in response: R, api: ApiKey, version: Int16) {
        guard isEnabled else { return }
        response.forEachErrorCode { code in
            if code != 0 { countError(ErrorCode(rawValue: code), api: api, version: version) }
        }
    }

    /// Counts one error of a request (`version` nil: an unsupported version).
    func countError(_ error: ErrorCode, api: ApiKey, version: Int16?) {
        let apiKey = api.schema == nil ? Int16(-1) : api.rawValue
        let key = ErrorKey(api: apiKey, version: version ?? -1, code: error.rawValue)
        let counter = state.withLock { state -> Counter in
            if let counter = state.errors[key] { return counter }
            let counter = Counter(label: "ledgerstream_broker_request_errors_total", dimensions: [
                ("api", Self.apiName(api)), ("version", Self.versionLabel(version)), ("error", Self.errorName(error)),
            ], factory: factory)
            state.errors[key] = counter
            return counter
        }
        counter.increment()
    }

    /// Kafka's name for an error code; codes Kafka does not know are UNKNOWN_SERVER_ERROR, as `Errors.forCode` has it.
    static func errorName(_ error: ErrorCode) -> String { error.name ?? "UNKNOWN_SERVER_ERROR" }

    // MARK: Connections

    /// The gauge of open connections on `listener` (one handle per listener name).
    package func connections(listener: String) -> Meter {
        state.withLock { state in
            if let meter = state.connections[listener] { return meter }
            let meter = Meter(label: "ledgerstream_broker_connections", dimensions: [("listener", listener)], factory: factory)
            state.connections[listener] = meter
            return meter
        }
    }

    // MARK: Topics

    /// A topic's traffic counters; ``TopicMetrics/destroy()`` removes them when the topic is deleted.
    func topic(_ name: String) -> TopicMetrics? {
        isEnabled ? TopicMetrics(topic: name, factory: factory) : nil
    }

    // MARK: Scrape-time values

    /// One partition at scrape time.
    struct PartitionSample {
        var topic: String
        var partition: Int32
        var statistics: LogStatistics
    }

    /// Sets the per-partition gauges from `samples`, and removes the series of partitions no longer there (a deleted
    /// topic's), so the scrape shows exactly the live partitions. Also sets the producer-id gauge (their sum).
    func collect(partitions samples: [PartitionSample]) {
        var producers = 0
        state.withLock { state in
            var seen = Set<PartitionKey>(minimumCapacity: samples.count)
            for sample in samples {
                let key = PartitionKey(topic: sample.topic, partition: sample.partition)
                seen.insert(key)
                let gauges = state.partitions[key] ?? {
                    let created = PartitionGauges(topic: sample.topic, partition: sample.partition, factory: factory)
                    state.partitions[key] = created
                    return created
                }()
                gauges.set(sample.statistics)
                producers += sample.statistics.producerCount
            }
            if seen.count != state.partitions.count {
                for (key, gauges) in state.partitions where !seen.contains(key) {
                    gauges.destroy()
                    state.partitions[key] = nil
                }
            }
        }
        producerIds.record(producers)
    }

    /// Sets the group gauges (every kind and state, 0 when none) and moves the rebalance counter to `rebalanceCount`.
    func collect(groups counts: [GroupStateKey: Int], rebalanceCount: UInt64) {
        for (key, gauge) in groups { gauge.record(counts[key] ?? 0) }
        let delta = state.withLock { state -> UInt64 in
            defer { state.rebalancesSeen = max(state.rebalancesSeen, rebalanceCount) }
            return rebalanceCount > state.rebalancesSeen ? rebalanceCount - state.rebalancesSeen : 0
        }
        if delta > 0 { rebalances.increment(by: delta) }
    }

    /// How many partitions have series now (for tests).
    var partitionSeriesCount: Int { state.withLock { $0.partitions.count } }
}

/// The timers of one API (Kafka's RequestMetrics for one `request` name).
package final class ApiMetrics: Sendable {
    package let name: String
    package let queueTime: Timer
    package let localTime: Timer
    package let totalTime: Timer

    init(name: String, factory: any MetricsFactory) {
        self.name = name
        let dimensions = [("api", name)]
        queueTime = Timer(label: "ledgerstream_broker_request_queue_time_seconds", dimensions: dimensions, factory: factory)
        localTime = Timer(label: "ledgerstream_broker_request_local_time_seconds", dimensions: dimensions, factory: factory)
        totalTime = Timer(label: "ledgerstream_broker_request_total_time_seconds", dimensions: dimensions, factory: factory)
    }
}

/// One topic's traffic (Kafka's BrokerTopicMetrics BytesInPerSec, MessagesInPerSec, BytesOutPerSec), kept with the
/// topic in the registry so produce and fetch reach it without a lookup.
package final class TopicMetrics: Sendable {
    let bytesIn: Counter
    let recordsIn: Counter
    let bytesOut: Counter
    let recordsOut: Counter

    init(topic: String, factory: any MetricsFactory) {
        let dimensions = [("topic", topic)]
        bytesIn = Counter(label: "ledgerstream_broker_topic_bytes_in_total", dimensions: dimensions, factory: factory)
        recordsIn = Counter(label: "ledgerstream_broker_topic_records_in_total", dimensions: dimensions, factory: factory)
        bytesOut = Counter(label: "ledgerstream_broker_topic_bytes_out_total", dimensions: dimensions, factory: factory)
        recordsOut = Counter(label: "ledgerstream_broker_topic_records_out_total", dimensions: dimensions, factory: factory)
    }

    /// The topic is gone: its series leave the scrape.
    func destroy() {
        bytesIn.destroy()
        recordsIn.destroy()
        bytesOut.destroy()
        recordsOut.destroy()
    }
}

/// One partition's log gauges, set at each scrape.
final class PartitionGauges: Sendable {
    let size: Gauge
    let segments: Gauge
    let startOffset: Gauge
    let endOffset: Gauge

    init(topic: String, partition: Int32, factory: any MetricsFactory) {
        let dimensions = [("topic", topic), ("partition", String(partition))]
        size = Gauge(label: "ledgerstream_broker_log_size_bytes", dimensions: dimensions, factory: factory)
        segments = Gauge(label: "ledgerstream_broker_log_segments", dimensions: dimensions, factory: factory)
        startOffset = Gauge(label: "ledgerstream_broker_log_start_offset", dimensions: dimensions, factory: factory)
        endOffset = Gauge(label: "ledgerstream_broker_log_end_offset", dimensions: dimensions, factory: factory)
    }

    func set(_ statistics: LogStatistics) {
        size.record(statistics.sizeInBytes)
        segments.record(statistics.segmentCount)
        startOffset.record(statistics.logStartOffset)
        endOffset.record(statistics.logEndOffset)
    }

    func destroy() {
        size.destroy()
        segments.destroy()
        startOffset.destroy()
        endOffset.destroy()
    }
}

extension Timer {
    /// Records a `Duration` (swift-metrics takes nanoseconds).
    func recordDuration(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// What one Fetch response carries per topic, counted when the response is actually sent (a parked fetch is read
/// again on every wake-up; only its last reading leaves).
struct FetchTraffic: Sendable {
    var topics: [(metrics: TopicMetrics, bytes: Int, records: Int64)] = []

    func record() {
        for topic in topics where topic.bytes > 0 {
            topic.metrics.bytesOut.increment(by: topic.bytes)
            topic.metrics.recordsOut.increment(by: topic.records)
        }
    }
}
