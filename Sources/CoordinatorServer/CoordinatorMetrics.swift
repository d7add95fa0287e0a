import CoreMetrics

/// The coordinator's metrics under Apache ZooKeeper's own Prometheus names, so that dashboards and alerts written for
/// ZooKeeper 3.6+ with its `PrometheusMetricsProvider` work unchanged.
///
/// The gauges are ZooKeeper's (`ZooKeeperServer.registerMetrics`): read at scrape time from the same
/// ``ServerSnapshot`` that `mntr` renders, so a scrape and `mntr` agree. Standalone ZooKeeper registers no
/// `quorum_size` (only a quorum peer does), so neither does this. The durations are ZooKeeper's BASIC summaries
/// (`ServerMetrics`: `fsynctime`, `snapshottime`, `dbinittime`, in milliseconds) recorded as they happen; swift-metrics
/// has no summary, so they are value histograms here: `_sum` and `_count` mean what ZooKeeper's do (so
/// `rate(fsynctime_sum[1m]) / rate(fsynctime_count[1m])` is still the mean fsync time in ms), and buckets replace its
/// quantiles.
///
/// Built with `NOOPMetricsHandler.instance` when metrics are off, so recording then costs nothing.
public final class CoordinatorMetrics: Sendable {
    /// Every metric's name and help text, for the registry's `# HELP` lines.
    public static let descriptions: [(name: String, help: String)] = gaugeDescriptions + [
        ("fsynctime", "Time to write and fdatasync one group commit of the transaction log, in milliseconds."),
        ("snapshottime", "Time to write one snapshot of the data tree, in milliseconds."),
        ("dbinittime", "Time to load the data tree at startup (snapshot and transaction log replay), in milliseconds."),
    ]

    static let gaugeDescriptions: [(name: String, help: String)] = [
        ("znode_count", "Number of znodes, counted as mntr's zk_znode_count (the root twice, as ZooKeeper)."),
        ("watch_count", "Number of watches set by clients (a path watched by two connections counts twice)."),
        ("ephemerals_count", "Number of ephemeral znodes."),
        ("approximate_data_size", "Approximate size of the data tree in bytes (paths and data)."),
        ("global_sessions", "Number of sessions."),
        ("local_sessions", "Number of local sessions: always 0, a single node has none (localSessionsEnabled is ignored)."),
        ("num_alive_connections", "Number of open client connections."),
        ("outstanding_requests", "Requests received whose replies wait for the transaction log to be on disk."),
        ("avg_latency", "Average request latency since start or srst, in milliseconds (arrival to reply)."),
        ("min_latency", "Minimum request latency since start or srst, in milliseconds."),
        ("max_latency", "Maximum request latency since start or srst, in milliseconds."),
        ("packets_received", "Packets received from clients since start or srst."),
        ("packets_sent", "Packets sent to clients (replies and watch events) since start or srst."),
        ("uptime", "Time since the server started, in milliseconds."),
        ("open_file_descriptor_count", "Number of open file descriptors."),
        ("max_file_descriptor_count", "Maximum number of open file descriptors (the soft limit)."),
        ("auth_failed_count", "Failed authentications since start."),
    ]

    private let gauges: [(name: String, gauge: Gauge)]
    let fsyncTime: Recorder
    let snapshotTime: Recorder
    let dbInitTime: Recorder

    /// Creates every handle once; recording afterwards takes no registry lock.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        gauges = Self.gaugeDescriptions.map { ($0.name, Gauge(label: $0.name, factory: factory)) }
        fsyncTime = Recorder(label: "fsynctime", aggregate: true, factory: factory)
        snapshotTime = Recorder(label: "snapshottime", aggregate: true, factory: factory)
        dbInitTime = Recorder(label: "dbinittime", aggregate: true, factory: factory)
    }

    /// Sets every gauge from `snapshot` (at scrape time).
    func record(_ snapshot: ServerSnapshot) {
        let values = Self.gaugeValues(snapshot)
        for (name, gauge) in gauges {
            if let value = values[name] { gauge.record(value) }
        }
    }

    /// The gauges' values, by ZooKeeper name, from what `mntr` reports. Pure, so the mapping is unit-tested.
    public static func gaugeValues(_ s: ServerSnapshot) -> [String: Double] {
        [
            "znode_count": Double(s.reportedNodeCount),
            "watch_count": Double(s.watchCount),
            "ephemerals_count": Double(s.ephemeralsCount),
            "approximate_data_size": Double(s.approximateDataSize),
            "global_sessions": Double(s.sessions.count),
            "local_sessions": Double(s.localSessionCount),
            "num_alive_connections": Double(s.connections.count),
            "outstanding_requests": Double(s.outstandingRequests),
            "avg_latency": s.statistics.latencyAverageMs,
            "min_latency": Double(s.statistics.latencyMinMs),
            "max_latency": Double(s.statistics.latencyMaxMs),
            "packets_received": Double(s.statistics.packetsReceived),
            "packets_sent": Double(s.statistics.packetsSent),
            "uptime": Double(s.uptimeMs),
            "open_file_descriptor_count": Double(s.openFileDescriptors),
            "max_file_descriptor_count": Double(s.maxFileDescriptors),
            "auth_failed_count": Double(s.authFailures),
        ]
    }

    /// Milliseconds, as ZooKeeper's summaries take them, from a monotonic interval.
    static func milliseconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1_000_000 }
}
