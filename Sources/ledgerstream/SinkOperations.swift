import ArgumentParser
import Ledger
import Logging
import Operations

/// `--metrics-listener` and `--ready-max-lag`, for the commands that run the SQLite sink (`consume --sink`,
/// `demo --keep-running`).
struct SinkOperationsOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Serve the sink's Prometheus metrics at http://HOST:PORT/metrics, with /healthz and /readyz (off unless given; port 0 picks a free one).",
        valueName: "host:port"))
    var metricsListener: String?

    @Option(help: ArgumentHelp(
        "/readyz answers 200 once the sink's lag (records still to apply, over all partitions) is at most this.",
        valueName: "records"))
    var readyMaxLag: Int64 = 1000

    func validate() throws {
        if let metricsListener {
            do {
                _ = try OperationsListener(parsing: metricsListener)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if readyMaxLag < 0 { throw ValidationError("--ready-max-lag must be 0 or more") }
    }
}

/// The sink's operational surface: a metrics registry (the sink's metrics and the process's), the HTTP server for
/// /metrics, /healthz and /readyz, and readiness from the sink's lag. Without a listener, metrics are off: the sink
/// gets ``SinkMetrics/disabled`` and nothing is served.
struct SinkOperations {
    /// What the sink records into.
    let metrics: SinkMetrics
    /// The process's registry (nil with metrics off). Other components of the same process (the demo's embedded
    /// broker) can add their metrics to it.
    let registry: MetricsRegistry?
    private let server: OperationsServer?

    /// Every metric the sink commands may export, for the registry's help text.
    static let descriptions = SinkMetrics.descriptions.map { MetricDescription($0.name, $0.help) }

    /// Starts the server when `options` name a listener (a port already in use is reported as a usage problem).
    /// - Parameters:
    ///   - otherDescriptions: help text of the metrics of other components sharing the registry (the demo's broker).
    ///   - readyFirst: a check that must pass before the sink's own (the demo's broker serving).
    static func start(_ options: SinkOperationsOptions, command: String, logger: Logger,
                      otherDescriptions: [MetricDescription] = [],
                      readyFirst: (@Sendable () -> Readiness)? = nil) async throws -> SinkOperations {
        guard let spec = options.metricsListener else { return SinkOperations(metrics: .disabled, registry: nil, server: nil) }
        let registry = MetricsRegistry(descriptions: descriptions + otherDescriptions)
        let metrics = SinkMetrics(factory: registry.factory)
        registry.addCollector { metrics.collect() }
        let maxLag = options.readyMaxLag
        let health = HealthChecks(ready: {
            if let readyFirst, case .notReady(let reason) = readyFirst() { return .notReady(reason) }
            return metrics.notReadyReason(maxLag: maxLag).map(Readiness.notReady) ?? .ready
        })
        do {
            let server = try await OperationsServer.start(listener: try OperationsListener(parsing: spec), registry: registry,
                                                          health: health, logger: logger)
            return SinkOperations(metrics: metrics, registry: registry, server: server)
        } catch {
            printError(command, "\(error)")
            throw ExitCodes.unavailable
        }
    }

    /// The URL of /metrics, once listening.
    var metricsURL: String? { server.map { "\($0.address)/metrics" } }

    func stop() async {
        await server?.stop()
    }
}
