import JavaProperties
import ZooKeeperClient
import Framing
import KafkaBroker
import KafkaSecurity
import Dispatch
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Operations
import ServiceLifecycle
import Synchronization

/// The broker's ZooKeeper login settings cannot be used.
struct ZooKeeperLoginError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Why the broker could not start, in words a user can act on.
public enum BrokerStartError: Error, CustomStringConvertible {
    case portInUse(host: String, port: Int)
    case cannotBind(host: String, port: Int, reason: String)
    case zooKeeper(connect: String, reason: String)

    public var description: String {
        switch self {
        case .portInUse(let host, let port):
            return "port \(port) on \(host) is already in use (another broker running?); pick another with --listeners PLAINTEXT://\(host):PORT"
        case .cannotBind(let host, let port, let reason):
            return "cannot listen on \(host):\(port): \(reason)"
        case .zooKeeper(let connect, let reason):
            return "cannot register in ZooKeeper (zookeeper.connect=\(connect)): \(reason)"
        }
    }
}

/// The broker as a network service: a SwiftNIO server on the configured listener, event loops that only move bytes,
/// a thread pool that runs requests, and a maintenance timer (retention, flush policy, checkpoints).
///
/// Runs as a ServiceLifecycle `Service`: `run()` serves until graceful shutdown (SIGTERM/SIGINT), then stops
/// accepting, closes connections, lets running requests finish, and shuts the storage down cleanly.
public final class BrokerServer: Service {
    public let broker: Broker
    private let config: BrokerConfig
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    /// Connection admission (max.connections, per IP, the descriptor ceiling) and the refusals not yet logged.
    private let admission: Mutex<(limiter: ConnectionLimiter, refusedSinceLog: Int, lastLogNs: UInt64)>
    private let onReady: @Sendable (SocketAddress) -> Void
    private let onListener: @Sendable (Listener, SecurityProtocol, SocketAddress) -> Void
    /// Each listener's TLS context, SASL mechanisms and users, resolved (and checked) before anything starts.
    private let listenerSecurity: [ListenerSecurity]
    /// Each listener's TLS server context (nil for PLAINTEXT and SASL_PLAINTEXT), by listener name.
    private let tlsContexts: [String: NIOSSLContext]
    /// What `/readyz` answers, moved along as the server starts and stops.
    public let readiness: BrokerReadiness

    /// - Parameter metrics: the process's registry, which gets the broker's metrics and a collector that reads
    ///   partitions, groups and producers at each scrape; nil: metrics off (no-op handles). `demo` passes the
    ///   registry it shares with the sink.
    /// - Parameter readiness: moved to ``BrokerReadiness/Phase/serving`` once the logs are loaded and the listeners
    ///   bound. Pass the one whose checks the operations server already answers with, to report the log loading
    ///   that happens in this initializer.
    /// - Parameter onListener: called for every listener once it is bound, before `onReady`.
    /// - Parameter onReady: called once with the first listener's bound address (for the readiness line).
    /// - Throws: ``ListenerSecurityError`` when a listener's security settings cannot be used.
    public init(config: BrokerConfig, logger: Logger, metrics: MetricsRegistry? = nil,
                readiness: BrokerReadiness = BrokerReadiness(),
                onReady: @escaping @Sendable (SocketAddress) -> Void = { _ in },
                onListener: @escaping @Sendable (Listener, SecurityProtocol, SocketAddress) -> Void = { _, _, _ in }) throws {
        self.config = config
        self.logger = logger
        self.readiness = readiness
        self.onReady = onReady
        self.onListener = onListener
        listenerSecurity = try config.listeners.map { try ListenerSecurity(listener: $0, config: config) }
        var contexts: [String: NIOSSLContext] = [:]
        for security in listenerSecurity {
            contexts[security.listener.name] = try ListenerTLS.context(for: security, config: config)
        }
        tlsContexts = contexts
        try Self.checkNames(config)
        let descriptors = DescriptorLimit.raiseToHardLimit()
        let ceiling = ConnectionLimiter.ceiling(descriptorLimit: descriptors)
        admission = Mutex((ConnectionLimiter(maxConnections: min(config.maxConnections, ceiling), maxPerIP: config.maxConnectionsPerIP,
                                             perIPOverrides: config.maxConnectionsPerIPOverrides), 0, 0))
        if ceiling < config.maxConnections {
            logger.debug("connections limited by the file-descriptor limit", metadata: [
                "descriptorLimit": "\(descriptors)", "maxConnections": "\(ceiling)"])
        }
        let threads = config.networkThreads > 0 ? config.networkThreads : System.coreCount
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        pool = NIOThreadPool(numberOfThreads: config.ioThreads)
        readiness.enter(.loadingLogs)
        do {
            broker = try Broker(config: config, logger: logger,
                                metrics: metrics.map { BrokerMetrics(factory: $0.factory) } ?? .disabled)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        readiness.enter(.startingListeners)
        broker.groups.start(on: group.next())
        if let metrics {
            let broker = self.broker
            metrics.addCollector { broker.collectMetrics() }
        }
    }

    public func run() async throws {
        pool.start()
        var channels: [any Channel] = []
        for security in listenerSecurity {
            do {
                channels.append(try await bind(security))
            } catch {
                await stop(servers: channels, quietly: true)
                throw error
            }
        }
        var ports: [String: Int] = [:]
        for (security, channel) in zip(listenerSecurity, channels) {
            ports[security.listener.name] = channel.localAddress?.port ?? security.listener.port
        }
        broker.bound(ports: ports)
        warnIfUnauthenticated()
        if let connect = config.zookeeperConnect {
            do {
                try await register(in: connect)
            } catch {
                await stop(servers: channels, quietly: true)
                throw error
            }
        }
        for (security, channel) in zip(listenerSecurity, channels) {
            onListener(security.listener, security.securityProtocol, channel.localAddress!)
        }
        onReady(channels[0].localAddress!)
        readiness.enter(.serving)
        broker.startLogCleaner()
        let interval = min(config.logRetentionCheckIntervalMs, config.logFlushSchedulerIntervalMs,
                           config.logFlushOffsetCheckpointIntervalMs, 10_000)
        let maintenanceLoop = group.next()
        let maintenance = maintenanceLoop.scheduleRepeatedAsyncTask(
            initialDelay: .milliseconds(interval), delay: .milliseconds(interval)
        ) { [broker, pool] _ in
            pool.runIfActive(eventLoop: maintenanceLoop) { broker.runMaintenance() }
        }
        // Serve until SIGTERM/SIGINT (or the task is cancelled).
        try? await gracefulShutdown()
        readiness.enter(.shuttingDown)
        logger.info("shutting down")
        maintenance.cancel()
        // Deregisters at once (the ephemeral nodes go with the session) instead of after the session timeout.
        await broker.zooKeeper?.stop()
        broker.zooKeeper = nil
        await stop(servers: channels)
    }

    /// Kafka refuses duplicate listener names and advertised names that no listener has.
    private static func checkNames(_ config: BrokerConfig) throws {
        var seen: Set<String> = []
        for listener in config.listeners where !seen.insert(listener.name).inserted {
            throw ListenerSecurityError(listener: listener.name, reason: "the name is used by two listeners; each listener needs its own name")
        }
        for advertised in config.advertisedListeners ?? [] where !seen.contains(advertised.name) {
            throw ListenerSecurityError(listener: advertised.name, reason: "advertised.listeners names a listener that listeners does not define")
        }
    }

    /// A listener that anyone on the network can reach without authenticating is worth a warning at start.
    private func warnIfUnauthenticated() {
        for security in listenerSecurity where !security.securityProtocol.usesSASL && security.clientAuth != .required {
            let host = security.listener.host
            let loopback = host == "127.0.0.1" || host == "::1" || host == "localhost"
            if !loopback {
                logger.warning("listener accepts clients without authentication on a non-loopback address", metadata: [
                    "listener": "\(security.listener)",
                    "fix": "use SASL_SSL (or SSL with ssl.client.auth=required) and authorizer.class.name for a network-facing broker",
                ])
            }
        }
        if config.authorizerEnabled && listenerSecurity.allSatisfy({ !$0.securityProtocol.usesSASL && $0.clientAuth == .none }) {
            logger.warning("ACLs are on but no listener authenticates clients: every client is User:ANONYMOUS")
        }
    }

    /// Registers the broker the way Kafka did: ephemeral `/brokers/ids/<id>`, the cluster id, every topic's
    /// partition assignment, `/controller`. Kafka refuses to start without its ZooKeeper, and so does this.
    private func register(in connect: String) async throws {
        let listener = broker.advertisedListener
        let host = listener.host.isEmpty || listener.host == "0.0.0.0" ? "127.0.0.1" : listener.host
        do {
            let (credentials, tls) = try zooKeeperIdentity()
            broker.zooKeeper = try await KafkaZooKeeperRegistration.start(
                connect: connect, brokerId: config.nodeId, host: host, port: listener.port, clusterId: broker.clusterId,
                topics: broker.topics.all.map { .init(name: $0.name, id: $0.id.description, partitions: $0.partitionCount) },
                sessionTimeoutMs: config.zookeeperSessionTimeoutMs, credentials: credentials, secureAcls: config.zookeeperSetAcl,
                tls: tls, endpoints: registeredEndpoints(), logger: logger)
            logger.info("registered in ZooKeeper", metadata: ["zookeeper": "\(connect)", "brokerId": "\(config.nodeId)"])
        } catch {
            throw BrokerStartError.zooKeeper(connect: connect, reason: "\(error)")
        }
    }

    /// Every advertised listener with its security protocol, for `/brokers/ids/<id>`.
    private func registeredEndpoints() -> [BrokerEndpoint] {
        listenerSecurity.map { security in
            let advertised = broker.advertisedListener(named: security.listener.name)
            let host = advertised.host.isEmpty || advertised.host == "0.0.0.0" ? "127.0.0.1" : advertised.host
            return BrokerEndpoint(listenerName: security.listener.name, securityProtocol: security.securityProtocol.rawValue,
                                  host: host, port: advertised.port)
        }
    }

    /// The broker's ZooKeeper login, as Kafka configures it: SASL DIGEST-MD5 from the JAAS file's `Client` section,
    /// TLS from `zookeeper.ssl.*`.
    private func zooKeeperIdentity() throws -> (ZooKeeperCredentials?, ZooKeeperClientTLS?) {
        var credentials: ZooKeeperCredentials?
        if let path = config.jaasConfigPath, config.zookeeperSaslClient {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ZooKeeperLoginError(reason: "cannot read java.security.auth.login.config \(path)")
            }
            let jaas: JAASConfiguration
            do { jaas = try JAASConfiguration(parsing: text) } catch {
                throw ZooKeeperLoginError(reason: "\(path): \(error)")
            }
            if let options = jaas.options(of: config.zookeeperSaslClientConfig) {
                guard let user = options["username"], let password = options["password"] else {
                    throw ZooKeeperLoginError(reason: "\(path): section \(config.zookeeperSaslClientConfig) needs username and password")
                }
                credentials = .saslDigestMD5(username: user, password: password)
            }
        }
        var tls: ZooKeeperClientTLS?
        if config.zookeeperTLSEnabled {
            tls = ZooKeeperClientTLS(trustStore: config.zookeeperTrustStore, certificateChain: config.zookeeperKeyStore,
                                     privateKey: config.zookeeperKeyStore, verifyHostname: config.zookeeperVerifyHostname)
        }
        return (credentials, tls)
    }

    private func bind(_ security: ListenerSecurity) async throws -> any Channel {
        let listener = security.listener
        let host = listener.host.isEmpty ? "0.0.0.0" : listener.host
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Reads grow to 1 MiB (NIO's default stops at 64 KiB): a produce request of a megabyte then arrives in
            // one or two reads, and the first read's buffer becomes the request's without being copied into the
            // frame decoder's. Like Kafka's own receive, which reads a request into one buffer of its size. Measured
            // with kcat producing 300 MB: 181-187 ms of broker CPU against 198-206 ms. A connection sending little
            // keeps small reads (the allocator grows only when a read fills its buffer).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 1 << 20))
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let remote = channel.remoteAddress
                    let host = remote?.ipAddress ?? "unknown"
                    guard admit(host) else {
                        channel.close(promise: nil)
                        return
                    }
                    channel.closeFuture.whenComplete { _ in self.admission.withLock { $0.limiter.release(host) } }
                    let maxFrame = config.socketRequestMaxBytes
                    let session = ConnectionSession(
                        security: security, clientHost: remote?.ipAddress ?? "unknown",
                        clientAddress: remote.map { "\($0)" } ?? "unknown",
                        maxUnauthenticatedFrame: min(config.saslServerMaxReceiveSize, maxFrame))
                    try channel.pipeline.syncOperations.addHandler(
                        IdleStateHandler(allTimeout: .milliseconds(config.connectionsMaxIdleMs)))
                    if let tls = tlsContexts[security.listener.name] {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(
                        LengthPrefixedFrameDecoder(maxFrameBytes: maxFrame, dynamicLimit: session.frameLimit)))
                    let client = session.clientAddress
                    try channel.pipeline.syncOperations.addHandler(ResponseOrderingHandler(
                        idleReason: "idle for connections.max.idle.ms (\(config.connectionsMaxIdleMs) ms)",
                        onClose: { [logger] reason in
                            logger.warning("closing connection", metadata: ["client": "\(client)", "reason": "\(reason)"])
                        }))
                    try channel.pipeline.syncOperations.addHandler(
                        KafkaConnectionHandler(broker: broker, queue: SerialWorkQueue(pool: pool), logger: logger, session: session))
                    if broker.metrics.isEnabled {
                        let open = broker.metrics.connections(listener: security.listener.name)
                        open.increment()
                        channel.closeFuture.whenComplete { _ in open.decrement() }
                    }
                    let id = ObjectIdentifier(channel)
                    connections.withLock { $0[id] = channel }
                    channel.closeFuture.whenComplete { _ in self.connections.withLock { $0[id] = nil } }
                }
            }
        do {
            return try await bootstrap.bind(host: host, port: listener.port).get()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw BrokerStartError.portInUse(host: host, port: listener.port)
        } catch let error as IOError {
            throw BrokerStartError.cannotBind(host: host, port: listener.port, reason: "\(error)")
        }
    }

    /// Counts a new connection in, or refuses it: the refusal is logged at most every 10 s, with how many there were.
    private func admit(_ host: String) -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        let (refusal, toLog) = admission.withLock { state -> (ConnectionLimiter.Refusal?, Int) in
            guard let refusal = state.limiter.admit(host) else { return (nil, 0) }
            state.refusedSinceLog += 1
            guard now - state.lastLogNs >= 10_000_000_000 || state.lastLogNs == 0 else { return (refusal, 0) }
            defer { state.refusedSinceLog = 0; state.lastLogNs = now }
            return (refusal, state.refusedSinceLog)
        }
        guard let refusal else { return true }
        if toLog > 0 {
            logger.warning("connections refused", metadata: ["client": "\(host)", "refused": "\(toLog)", "reason": "\(refusal)"])
        }
        return false
    }

    /// - Parameter quietly: the broker never served (it could not bind), so no "stopped" line is logged.
    private func stop(servers: [any Channel], quietly: Bool = false) async {
        for server in servers { try? await server.close() }
        for channel in connections.withLock({ Array($0.values) }) { try? await channel.close() }
        try? await pool.shutdownGracefully()
        do {
            try broker.shutdown()
            if !quietly { logger.info("stopped cleanly", metadata: ["dataDir": "\(config.dataDirectory)"]) }
        } catch {
            logger.error("clean shutdown failed; the next start will recover the logs", metadata: ["error": "\(error)"])
        }
        try? await group.shutdownGracefully()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
