import CoreMetrics
import Prometheus
import Synchronization

/// One process's metrics, in Prometheus's text format.
///
/// Components are instrumented through swift-metrics (`Counter`, `Timer`, `Gauge`, … built with ``factory``), so the
/// libraries depend on the metrics API only and cost next to nothing when metrics are off (they get
/// `NOOPMetricsHandler.instance` instead). Values that live elsewhere — a partition's size, a group's state, the
/// process's memory — are read when scraped, by collectors registered with ``addCollector(_:)``, rather than kept up to
/// date on every change.
public final class MetricsRegistry: Sendable {
    /// Where the metrics are kept; swift-prometheus renders it.
    public let prometheus: PrometheusCollectorRegistry
    /// The swift-metrics factory that puts metrics into this registry (with their help text).
    public let factory: any MetricsFactory
    private let collectors = Mutex<[@Sendable () -> Void]>([])
    /// One scrape at a time: collectors compute deltas against what the previous scrape saw.
    private let scrape = Mutex<[UInt8]>([])

    /// - Parameters:
    ///   - descriptions: help text per metric name, shown as `# HELP` lines (every component passes its catalog).
    ///   - durationBuckets: histogram buckets for timers, by metric name; others get ``defaultDurationBuckets``.
    ///   - includeProcessMetrics: adds the standard `process_*` metrics (CPU, memory, open files, start time).
    public init(descriptions: [MetricDescription] = [], durationBuckets: [String: [Duration]] = [:],
                includeProcessMetrics: Bool = true) {
        let prometheus = PrometheusCollectorRegistry()
        self.prometheus = prometheus
        var help: [String: String] = [:]
        for description in descriptions + ProcessMetrics.descriptions { help[description.name] = description.help }
        factory = DescribedPrometheusFactory(registry: prometheus, help: help, durationBuckets: durationBuckets)
        if includeProcessMetrics {
            let process = ProcessMetrics(factory: factory)
            addCollector { process.collect() }
        }
    }

    /// Histogram buckets for timers: from 50 µs (a request answered from memory) to 10 s (a long-polling fetch).
    public static let defaultDurationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// Runs `collector` before every scrape, to set gauges from state that lives elsewhere.
    public func addCollector(_ collector: @escaping @Sendable () -> Void) {
        collectors.withLock { $0.append(collector) }
    }

    /// Runs the collectors and renders every metric in the Prometheus text format (version 0.0.4).
    public func render() -> [UInt8] {
        scrape.withLock { buffer in
            for collector in collectors.withLock({ $0 }) { collector() }
            // Keep the capacity between scrapes: a registry of 1,000 partitions renders a few hundred KB each time.
            buffer.removeAll(keepingCapacity: true)
            prometheus.emit(into: &buffer)
            return buffer
        }
    }

    /// The rendered text, for tests and tools.
    public func renderString() -> String { String(decoding: render(), as: UTF8.self) }
}

/// A metric's name and what it means, for the `# HELP` line.
public struct MetricDescription: Sendable, Hashable {
    public let name: String
    public let help: String

    public init(_ name: String, _ help: String) {
        self.name = name
        self.help = help
    }
}
