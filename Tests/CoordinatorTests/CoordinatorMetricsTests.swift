import CoreMetrics
import JavaProperties
import Operations
import Testing

@testable import Coordinator
@testable import CoordinatorServer

/// Goal: a scrape says what `mntr` says, under Apache ZooKeeper's Prometheus names and types, and the metrics provider
/// is configured with ZooKeeper's properties. Method: map a fixed snapshot and compare with its `mntr` text; render
/// through a real registry; apply property sets; then a real server with a client.
struct CoordinatorMetricsTests {
    let snapshot = FourLetterWordTests().snapshot()

    private func mntr(_ snapshot: ServerSnapshot) -> [String: String] {
        let lines = FourLetterWordResponder.respond(to: "mntr", snapshot: snapshot).split(separator: "\n")
        return Dictionary(uniqueKeysWithValues: lines.map { line in
            let parts = line.split(separator: "\t", maxSplits: 1)
            return (String(parts[0]), String(parts[1]))
        })
    }

    @Test func everyGaugeIsItsMntrValue() throws {
        var snapshot = self.snapshot
        snapshot.outstandingRequests = 2
        let values = CoordinatorMetrics.gaugeValues(snapshot)
        let monitor = mntr(snapshot)
        #expect(Set(values.keys) == Set(CoordinatorMetrics.gaugeDescriptions.map(\.name)))
        for (name, value) in values {
            let text = try #require(monitor["zk_" + name], "mntr has no zk_\(name)")
            let mntrValue = try #require(Double(text))
            // mntr rounds the average to 4 decimals, as Java prints it.
            #expect(abs(mntrValue - value) < 0.0001, "\(name): metric \(value), mntr \(text)")
        }
        #expect(values["znode_count"] == 5)
        #expect(values["ephemerals_count"] == 1)
        #expect(values["outstanding_requests"] == 2)
        #expect(values["packets_received"] == 12)
        #expect(values["avg_latency"] == 4.0 / 3.0)
        #expect(values["max_file_descriptor_count"] == 1024)
    }

    @Test func descriptionsNameEachMetricOnce() {
        let names = CoordinatorMetrics.descriptions.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Set(names).isSuperset(of: ["znode_count", "fsynctime", "snapshottime", "dbinittime"]))
        #expect(CoordinatorMetrics.descriptions.allSatisfy { !$0.help.isEmpty })
    }

    @Test func rendersZooKeeperNamesAndTypes() {
        let registry = MetricsRegistry(
            descriptions: CoordinatorMetrics.descriptions.map { MetricDescription($0.name, $0.help) },
            includeProcessMetrics: false)
        let metrics = CoordinatorMetrics(factory: registry.factory)
        metrics.record(snapshot)
        metrics.fsyncTime.record(3.5)
        metrics.fsyncTime.record(0.5)
        let text = registry.renderString()
        #expect(text.contains("# HELP znode_count Number of znodes"))
        #expect(text.contains("# TYPE znode_count gauge\nznode_count 5.0\n"))
        #expect(text.contains("# TYPE watch_count gauge\nwatch_count 2.0\n"))
        #expect(text.contains("\nnum_alive_connections 1.0\n"))
        #expect(text.contains("# TYPE fsynctime histogram\n"))
        #expect(text.contains("fsynctime_bucket{le=\"1.0\"} 1\n"))
        #expect(text.contains("fsynctime_bucket{le=\"4.0\"} 2\n"))
        #expect(text.contains("fsynctime_sum 4.0\n"))
        #expect(text.contains("fsynctime_count 2\n"))
    }

    // MARK: - Configuration

    private func config(_ text: String) throws -> ZooKeeperServerConfig {
        var config = ZooKeeperServerConfig()
        try config.apply(JavaProperties(parsing: text))
        return config
    }

    @Test func prometheusProviderTurnsMetricsOnWithLoopbackAndPort7000() throws {
        let config = try config("metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n"
            + "metricsProvider.exportJvmInfo=true")
        let address = try #require(config.prometheusMetrics)
        #expect(address.host == "127.0.0.1" && address.port == 7000)
        #expect(config.ignoredKeys == ["metricsProvider.exportJvmInfo"])
        #expect(config.warnings.isEmpty && config.unknownKeys.isEmpty)
    }

    @Test func httpHostAndPortAreZooKeepers() throws {
        let config = try config("""
            metricsProvider.className=PrometheusMetricsProvider
            metricsProvider.httpHost=0.0.0.0
            metricsProvider.httpPort=0
            """)
        let address = try #require(config.prometheusMetrics)
        #expect(address.host == "0.0.0.0" && address.port == 0)
        #expect(config.ignoredKeys.isEmpty)
    }

    @Test func otherProvidersMeanNoEndpoint() throws {
        let null = try config("metricsProvider.className=org.apache.zookeeper.metrics.impl.NullMetricsProvider\nmetricsProvider.httpPort=7001")
        #expect(null.prometheusMetrics == nil)
        #expect(null.warnings.isEmpty)
        #expect(null.ignoredKeys == ["metricsProvider.httpPort"])
        let other = try config("metricsProvider.className=com.example.PrometheusMetricsProviderV2")
        #expect(other.prometheusMetrics == nil)
        #expect(other.warnings.count == 1)
        #expect(try config("metricsProvider.httpPort=7000").prometheusMetrics == nil)
    }

    @Test func badPortIsRefused() {
        #expect(throws: ZooKeeperConfigError.invalid(key: "metricsProvider.httpPort", value: "70000",
                                                     reason: "expected an integer in 0...65535")) {
            try config("metricsProvider.httpPort=70000")
        }
    }

    // MARK: - A real server

    @Test func scrapeFollowsTheServerAndReadiness() async throws {
        let registry = MetricsRegistry(includeProcessMetrics: false)
        let harness = ServerHarness(metrics: registry.factory)
        defer { harness.directory.remove() }
        try await harness.start()
        let server = try #require(harness.server)
        #expect(server.notReadyReason == nil)
        registry.addCollector { server.collectMetrics() }

        let zk = try await harness.client()
        try await zk.create("/metrics")
        try await zk.create("/metrics/e", mode: .ephemeral)
        _ = try await zk.exists("/metrics/absent", watch: true)
        let text = registry.renderString()
        let monitor = try RawSocket.fourLetterWord("mntr", port: harness.port)
        for name in ["znode_count", "ephemerals_count", "watch_count", "global_sessions"] {
            let value = try #require(monitor.split(separator: "\n").first { $0.hasPrefix("zk_\(name)\t") }?.split(separator: "\t").last)
            #expect(text.contains("\n\(name) \(value).0\n"), "\(name) should be \(value)")
        }
        #expect(text.contains("\nephemerals_count 1.0\n"))
        #expect(text.contains("\nwatch_count 1.0\n"))
        // Two creates (and the session) were each fsynced before their replies; the load at start was timed once.
        let fsyncs = try #require(text.split(separator: "\n").first { $0.hasPrefix("fsynctime_count ") })
        #expect((Int(fsyncs.split(separator: " ")[1]) ?? 0) >= 2)
        #expect(text.contains("\ndbinittime_count 1\n"))
        await zk.close()
        await harness.stop()
        #expect(server.notReadyReason == "shutting down")
    }
}
