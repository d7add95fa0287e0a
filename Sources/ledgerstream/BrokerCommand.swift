import ArgumentParser
import FoundationEssentials
import JavaProperties
import KafkaBroker
import KafkaServer
import LogStorage
import Logging
import Operations
import ServiceLifecycle

/// `ledgerstream broker`: a Kafka-compatible broker, configured like Kafka.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a Kafka-compatible broker (speaks the Kafka wire protocol).",
        discussion: """
            Settings use Apache Kafka's names, from a server.properties file and/or the options below; options win over \
            the file, and --override key=value sets any property. Defaults: listener PLAINTEXT://127.0.0.1:9092, data in \
            ./ledgerstream-data. Ctrl-C or SIGTERM shuts down cleanly; a kill -9 loses nothing that was acknowledged.
            """
    )

    @Argument(help: "A server.properties file (Kafka's format and property names).", completion: .file())
    var propertiesFile: String?

    @Option(help: "Listener(s), e.g. PLAINTEXT://127.0.0.1:9092 (port 0 picks a free port). Property: listeners.")
    var listeners: String?

    @Option(help: "Address(es) advertised to clients. Property: advertised.listeners.")
    var advertisedListeners: String?

    @Option(help: "Data directory. Property: log.dirs.", completion: .directory)
    var logDirs: String?

    @Option(help: "Partitions of auto-created topics. Property: num.partitions.")
    var numPartitions: Int?

    @Option(help: "Create topics on first use: true or false. Property: auto.create.topics.enable.")
    var autoCreateTopicsEnable: Bool?

    @Option(help: "Segment size in bytes. Property: log.segment.bytes.")
    var logSegmentBytes: Int?

    @Option(help: "Retention in hours. Property: log.retention.hours.")
    var logRetentionHours: Int?

    @Option(help: "Retention in milliseconds. Property: log.retention.ms.")
    var logRetentionMs: Int?

    @Option(help: "Retention in bytes per partition (-1: none). Property: log.retention.bytes.")
    var logRetentionBytes: Int?

    @Option(help: "Largest record batch accepted. Property: message.max.bytes.")
    var messageMaxBytes: Int?

    @Option(help: "Largest request accepted. Property: socket.request.max.bytes.")
    var socketRequestMaxBytes: Int?

    @Option(help: "This broker's id. Properties: node.id, broker.id.")
    var nodeId: Int?

    @Option(help: "Register in ZooKeeper at host:port[/chroot]. Property: zookeeper.connect.")
    var zookeeper: String?

    @Option(help: "Serve Prometheus metrics, /healthz and /readyz at [http://]HOST:PORT (off unless given; port 0 picks a free one). Property: metrics.listener.")
    var metricsListener: String?

    @Option(name: .customLong("override"), help: "Set any property: --override key=value (repeatable).")
    var overrides: [String] = []

    @OptionGroup var logging: LoggingOptions

    /// The effective settings: file, then options, then overrides.
    func brokerConfig() throws -> BrokerConfig {
        var properties = JavaProperties()
        if let propertiesFile {
            guard let text = try? String(contentsOfFile: propertiesFile, encoding: .utf8) else {
                throw BrokerConfigError.unreadableFile(path: propertiesFile, reason: "no such file or not readable")
            }
            properties = JavaProperties(parsing: text)
        }
        let flags: [(String, String?)] = [
            ("listeners", listeners), ("advertised.listeners", advertisedListeners), ("log.dirs", logDirs),
            ("num.partitions", numPartitions.map(String.init)), ("auto.create.topics.enable", autoCreateTopicsEnable.map(String.init)),
            ("log.segment.bytes", logSegmentBytes.map(String.init)), ("log.retention.hours", logRetentionHours.map(String.init)),
            ("log.retention.ms", logRetentionMs.map(String.init)), ("log.retention.bytes", logRetentionBytes.map(String.init)),
            ("message.max.bytes", messageMaxBytes.map(String.init)),
            ("socket.request.max.bytes", socketRequestMaxBytes.map(String.init)), ("node.id", nodeId.map(String.init)),
            ("zookeeper.connect", zookeeper), ("metrics.listener", metricsListener),
        ]
        for case (let key, let value?) in flags { properties.set(key, value) }
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                throw ValidationError("--override expects key=value, got '\(override)'")
            }
            properties.set(String(override[..<equals]), String(override[override.index(after: equals)...]))
        }
        var config = BrokerConfig()
        try config.apply(properties)
        return config
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "ledgerstream.broker")
        let config: BrokerConfig
        let operationsListener: OperationsListener?
        do {
            config = try brokerConfig()
            operationsListener = try config.operationsListener()
        } catch let error as BrokerConfigError {
            printError("broker", "\(error)")
            throw ExitCodes.configError
        }
        for key in config.unknownKeys {
            logger.warning("ignoring unknown property", metadata: ["key": "\(key)"])
        }
        // The metrics endpoint starts first, so that /readyz answers "not ready: loading logs" during a long recovery.
        let readiness = BrokerReadiness()
        var registry: MetricsRegistry?
        var operations: OperationsServer?
        if let operationsListener {
            let metrics = MetricsRegistry(descriptions: BrokerMetrics.descriptions)
            do {
                operations = try await OperationsServer.start(
                    listener: operationsListener, registry: metrics, health: readiness.healthChecks, logger: logger)
            } catch {
                printError("broker", "\(error)")
                throw ExitCodes.unavailable
            }
            registry = metrics
        }
        let server: BrokerServer
        do {
            server = try BrokerServer(config: config, logger: logger, metrics: registry, readiness: readiness, onReady: { address in
                printFlushed("ledgerstream broker listening on \(address.ipAddress ?? "?"):\(address.port ?? 0) (node \(config.nodeId), data \(config.dataDirectory))")
            }, onListener: { listener, securityProtocol, address in
                printFlushed("ledgerstream broker: listener \(listener.name) on \(address.ipAddress ?? "?"):\(address.port ?? 0) (\(securityProtocol))")
            })
        } catch let error as ListenerSecurityError {
            await operations?.stop()
            printError("broker", "\(error)")
            throw ExitCodes.configError
        } catch {
            await operations?.stop()
            printError("broker", "cannot open data directory \(config.dataDirectory): \(error)")
            throw ExitCodes.ioError
        }
        applyProcessSettings(of: server, logger: logger)
        let services = (operations.map { [namedService(OperationsService(server: $0), "operations endpoint")] } ?? [])
            + [namedService(server, "broker")]
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as BrokerStartError {
            printError("broker", "\(error)")
            throw ExitCodes.unavailable
        }
    }
}

/// Applies what a broker decides for its whole process, before it serves: the disk its active segments may hold
/// reserved (``ReservationBudget/shared``). `broker` and `demo` run one broker per process; a broker itself leaves
/// process-wide settings alone, so brokers in one test process do not change each other's.
func applyProcessSettings(of server: BrokerServer, logger: Logger) {
    ReservationBudget.shared.setLimit(server.broker.reservationBudgetBytes)
    logger.debug("segment reservation budget", metadata: [
        "bytes": "\(server.broker.reservationBudgetBytes)"])
}
