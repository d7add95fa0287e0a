import ArgumentParser
import CoordinatorServer
import CoreMetrics
import FoundationEssentials
import JavaProperties
import Logging
import Operations
import ServiceLifecycle

/// `ledgerstream zookeeper`: a single-node coordinator speaking Apache ZooKeeper's client protocol.
struct ZooKeeperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zookeeper",
        abstract: "Run a ZooKeeper-compatible coordinator (speaks the ZooKeeper client protocol).",
        discussion: """
            Settings use Apache ZooKeeper's names (clientPort, clientPortAddress, dataDir, tickTime, minSessionTimeout, \
            maxSessionTimeout, 4lw.commands.whitelist, maxClientCnxns, jute.maxbuffer, snapCount), from a \
            zookeeper.properties or zoo.cfg file and/or the options below; options win over the file, and --override \
            key=value sets any property. Defaults: 127.0.0.1:2181, data in ./ledgerstream-zookeeper. Every write is on \
            disk before it is acknowledged; Ctrl-C or SIGTERM shuts down cleanly.

            Security, as Apache ZooKeeper: ACLs are enforced (schemes world, digest, ip, auth, sasl, x509; skipACL=yes \
            turns checks off; DigestAuthenticationProvider.superDigest=super:BASE64 names a super user). SASL \
            DIGEST-MD5: authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider and \
            java.security.auth.login.config=FILE (a JAAS file whose Server section lists user_NAME="PASSWORD"); \
            sessionRequireClientSASLAuth=true refuses unauthenticated clients. TLS: secureClientPort=N with \
            ssl.keyStore.location (PEM key and certificate), ssl.trustStore.location (PEM CAs), ssl.clientAuth=need|want|none.

            Metrics, as Apache ZooKeeper 3.6+: \
            metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider serves \
            Prometheus metrics under ZooKeeper's names (znode_count, watch_count, avg_latency, fsynctime, ...) at \
            http://metricsProvider.httpHost:metricsProvider.httpPort/metrics (port 7000 by default, 0 picks a free \
            one; host 127.0.0.1 unless given, where ZooKeeper uses 0.0.0.0), with /healthz and /readyz; or use \
            --metrics-listener. metricsProvider.exportJvmInfo is accepted and ignored (no JVM).
            """
    )

    @Argument(help: "A zookeeper.properties or zoo.cfg file (ZooKeeper's format and property names).", completion: .file())
    var propertiesFile: String?

    @Option(help: "Client port (0 picks a free port). Property: clientPort.")
    var clientPort: Int?

    @Option(help: "Address to listen on. Property: clientPortAddress.")
    var clientPortAddress: String?

    @Option(help: "Data directory (transaction log and snapshots). Property: dataDir.", completion: .directory)
    var dataDir: String?

    @Option(help: "Tick length in milliseconds (session timeouts are 2 to 20 ticks by default). Property: tickTime.")
    var tickTime: Int?

    @Option(help: ArgumentHelp(
        "Serve Prometheus metrics, /healthz and /readyz at HOST:PORT (host 127.0.0.1 if omitted, port 0 picks a free one). Properties: metricsProvider.className=...PrometheusMetricsProvider, metricsProvider.httpHost, metricsProvider.httpPort.",
        valueName: "host:port"))
    var metricsListener: String?

    @Option(name: .customLong("override"), help: "Set any property: --override key=value (repeatable).")
    var overrides: [String] = []

    @OptionGroup var logging: LoggingOptions

    /// The effective settings: file, then options, then overrides.
    func serverConfig() throws -> ZooKeeperServerConfig {
        var properties = JavaProperties()
        if let propertiesFile {
            guard let text = try? String(contentsOfFile: propertiesFile, encoding: .utf8) else {
                throw ZooKeeperConfigError.unreadableFile(path: propertiesFile, reason: "no such file or not readable")
            }
            properties = JavaProperties(parsing: text)
        }
        let flags: [(String, String?)] = [
            ("clientPort", clientPort.map(String.init)), ("clientPortAddress", clientPortAddress),
            ("dataDir", dataDir), ("tickTime", tickTime.map(String.init)),
        ]
        for case (let key, let value?) in flags { properties.set(key, value) }
        if let metricsListener {
            let listener: OperationsListener
            do {
                listener = try OperationsListener(parsing: metricsListener)
            } catch {
                throw ValidationError("--metrics-listener: \(error)")
            }
            properties.set("metricsProvider.className", Self.prometheusProvider)
            properties.set("metricsProvider.httpHost", listener.host)
            properties.set("metricsProvider.httpPort", String(listener.port))
        }
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                throw ValidationError("--override expects key=value, got '\(override)'")
            }
            properties.set(String(override[..<equals]), String(override[override.index(after: equals)...]))
        }
        var config = ZooKeeperServerConfig()
        try config.apply(properties)
        return config
    }

    static let prometheusProvider = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"

    func run() async throws {
        let logger = logging.bootstrap(label: "ledgerstream.zookeeper")
        let config: ZooKeeperServerConfig
        do {
            config = try serverConfig()
        } catch let error as ZooKeeperConfigError {
            printError("zookeeper", "\(error)")
            throw ExitCodes.configError
        }
        for key in config.unknownKeys {
            logger.warning("ignoring unknown property", metadata: ["key": "\(key)"])
        }
        for key in config.ignoredKeys {
            logger.info("property has no effect on a single ledgerstream node", metadata: ["key": "\(key)"])
        }
        for warning in config.warnings {
            logger.warning("\(warning)")
        }
        if config.security.skipACL {
            logger.warning("skipACL=yes: ACLs are not checked; every client may read and change every znode")
        }
        let registry = config.prometheusMetrics.map { _ in
            MetricsRegistry(descriptions: CoordinatorMetrics.descriptions.map { MetricDescription($0.name, $0.help) })
        }
        let server: ZooKeeperServer
        do {
            server = try ZooKeeperServer(config: config, logger: logger, metrics: registry?.factory ?? NOOPMetricsHandler.instance, onReady: { address in
                printFlushed("ledgerstream zookeeper listening on \(address.ipAddress ?? "?"):\(address.port ?? 0) (data \(config.dataDir))")
            }, onSecureReady: { address in
                printFlushed("ledgerstream zookeeper: secure client port on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
            })
        } catch {
            printError("zookeeper", "\(error)")
            throw ExitCodes.ioError
        }
        if server.recovered.replayed > 0 || server.recovered.truncatedBytes > 0 {
            logger.info("recovered", metadata: [
                "snapshotZxid": "\(server.recovered.snapshotZxid)", "replayed": "\(server.recovered.replayed)",
                "truncatedBytes": "\(server.recovered.truncatedBytes)", "lastZxid": "\(server.recovered.lastZxid)",
            ])
        }
        let operations: OperationsServer?
        do {
            operations = try await startOperations(registry: registry, server: server, config: config, logger: logger)
        } catch {
            printError("zookeeper", "\(error)")
            throw ExitCodes.unavailable
        }
        // The endpoint is listed first so that it stops last: /readyz says "shutting down" while the coordinator stops.
        let services = (operations.map { [namedService(OperationsService(server: $0), "operations endpoint")] } ?? [])
            + [namedService(server, "coordinator")]
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as ZooKeeperStartError {
            printError("zookeeper", "\(error)")
            throw ExitCodes.unavailable
        } catch {
            printError("zookeeper", "stopped: \(error)")
            throw ExitCodes.ioError
        }
    }

    /// Starts the metrics and health endpoint when the configuration asks for it, before the client port is bound, so
    /// `/readyz` answers "not ready" until the coordinator serves.
    private func startOperations(registry: MetricsRegistry?, server: ZooKeeperServer, config: ZooKeeperServerConfig,
                                 logger: Logger) async throws -> OperationsServer? {
        guard let registry, let address = config.prometheusMetrics else { return nil }
        registry.addCollector { server.collectMetrics() }
        let health = HealthChecks(ready: { server.notReadyReason.map { .notReady($0) } ?? .ready })
        return try await OperationsServer.start(
            listener: OperationsListener(host: address.host, port: address.port), registry: registry, health: health,
            logger: logger)
    }
}
