import CoreMetrics
import NIOHTTP1
@testable import Operations
import Synchronization
import Testing

@Suite struct MetricsRegistryTests {
    @Test func rendersSwiftMetricsWithHelpText() {
        let registry = MetricsRegistry(descriptions: [MetricDescription("demo_requests_total", "Requests answered.")],
                                       includeProcessMetrics: false)
        let counter = Counter(label: "demo_requests_total", dimensions: [("api", "Produce")], factory: registry.factory)
        counter.increment(by: 3)
        let timer = Timer(label: "demo_latency_seconds", factory: registry.factory)
        timer.recordNanoseconds(200_000)
        let text = registry.renderString()
        #expect(text.contains("# HELP demo_requests_total Requests answered.\n"))
        #expect(text.contains("# TYPE demo_requests_total counter\n"))
        #expect(text.contains("demo_requests_total{api=\"Produce\"} 3\n"))
        // 200 µs lands in the 250 µs bucket and above, not in the 100 µs one.
        #expect(text.contains("demo_latency_seconds_bucket{le=\"0.0001\"} 0\n"))
        #expect(text.contains("demo_latency_seconds_bucket{le=\"0.00025\"} 1\n"))
        #expect(text.contains("demo_latency_seconds_count 1\n"))
    }

    @Test func collectorsRunBeforeEachScrape() {
        let registry = MetricsRegistry(includeProcessMetrics: false)
        let gauge = Gauge(label: "demo_partitions", factory: registry.factory)
        let scrapes = Mutex(0)
        registry.addCollector {
            let count = scrapes.withLock { $0 += 1; return $0 }
            gauge.record(Double(count))
        }
        #expect(registry.renderString().contains("demo_partitions 1.0\n"))
        #expect(registry.renderString().contains("demo_partitions 2.0\n"))
    }

    @Test func destroyedMetricsLeaveTheScrape() {
        let registry = MetricsRegistry(includeProcessMetrics: false)
        let gauge = Gauge(label: "demo_log_size_bytes", dimensions: [("topic", "t")], factory: registry.factory)
        gauge.record(5)
        #expect(registry.renderString().contains("demo_log_size_bytes{topic=\"t\"}"))
        gauge.destroy()
        #expect(!registry.renderString().contains("demo_log_size_bytes{topic=\"t\"}"))
    }

    @Test func processMetricsAreRead() {
        let registry = MetricsRegistry()
        let text = registry.renderString()
        for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
                     "process_start_time_seconds", "process_virtual_memory_bytes"] {
            #expect(text.contains("\n\(name) ") || text.hasPrefix("\(name) "), "\(name)")
        }
        let stat = ProcessMetrics.readStat()
        #expect(stat != nil)
        #expect((stat?.residentPages ?? 0) > 0)
        #expect(ProcessMetrics.countOpenFiles() >= 3)
    }
}

@Suite struct OperationsRoutesTests {
    let registry = MetricsRegistry(includeProcessMetrics: false)

    @Test func servesMetricsHealthAndReadiness() {
        let ready = Mutex(Readiness.notReady("logs loading"))
        let routes = OperationsRoutes(registry: registry, health: HealthChecks(ready: { ready.withLock { $0 } }))
        let metrics = routes.respond(method: .GET, uri: "/metrics?name[]=x")
        #expect(metrics.status == .ok)
        #expect(metrics.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(routes.respond(method: .GET, uri: "/healthz").status == .ok)
        let notReady = routes.respond(method: .GET, uri: "/readyz")
        #expect(notReady.status == .serviceUnavailable)
        #expect(String(decoding: notReady.body, as: UTF8.self) == "not ready: logs loading\n")
        ready.withLock { $0 = .ready }
        #expect(routes.respond(method: .GET, uri: "/readyz").status == .ok)
    }

    @Test func refusesOtherMethodsAndPaths() {
        let routes = OperationsRoutes(registry: registry, health: HealthChecks())
        let post = routes.respond(method: .POST, uri: "/metrics")
        #expect(post.status == .methodNotAllowed)
        #expect(post.headers.contains { $0 == ("Allow", "GET, HEAD") })
        #expect(routes.respond(method: .GET, uri: "/metrics/../etc/passwd").status == .notFound)
        #expect(routes.respond(method: .HEAD, uri: "/healthz").status == .ok)
    }
}
