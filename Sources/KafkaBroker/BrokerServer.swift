import Coordinator
import Framing
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

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
    private let onReady: @Sendable (SocketAddress) -> Void

    /// - Parameter onReady: called once with the bound address (for the readiness line).
    public init(config: BrokerConfig, logger: Logger, onReady: @escaping @Sendable (SocketAddress) -> Void = { _ in }) throws {
        self.config = config
        self.logger = logger
        self.onReady = onReady
        let threads = config.networkThreads > 0 ? config.networkThreads : System.coreCount
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        pool = NIOThreadPool(numberOfThreads: config.ioThreads)
        do {
            broker = try Broker(config: config, logger: logger)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        broker.groups.start(on: group.next())
    }

    public func run() async throws {
        pool.start()
        let listener = config.listeners[0]
        let channel: any Channel
        do {
            channel = try await bind(listener)
        } catch {
            await stop(server: nil, quietly: true)
            throw error
        }
        let port = channel.localAddress?.port ?? listener.port
        broker.bound(to: port)
        if let connect = config.zookeeperConnect {
            do {
                try await register(in: connect)
            } catch {
                await stop(server: channel, quietly: true)
                throw error
            }
        }
        onReady(channel.localAddress!)
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
        logger.info("shutting down")
        maintenance.cancel()
        // Deregisters at once (the ephemeral nodes go with the session) instead of after the session timeout.
        await broker.zooKeeper?.stop()
        broker.zooKeeper = nil
        await stop(server: channel)
    }

    /// Registers the broker the way Kafka did: ephemeral `/brokers/ids/<id>`, the cluster id, every topic's
    /// partition assignment, `/controller`. Kafka refuses to start without its ZooKeeper, and so does this.
    private func register(in connect: String) async throws {
        let listener = broker.advertisedListener
        let host = listener.host.isEmpty || listener.host == "0.0.0.0" ? "127.0.0.1" : listener.host
        do {
            broker.zooKeeper = try await KafkaZooKeeperRegistration.start(
                connect: connect, brokerId: config.nodeId, host: host, port: listener.port, clusterId: broker.clusterId,
                topics: broker.topics.all.map { .init(name: $0.name, id: $0.id.description, partitions: $0.partitionCount) },
                sessionTimeoutMs: config.zookeeperSessionTimeoutMs, logger: logger)
            logger.info("registered in ZooKeeper", metadata: ["zookeeper": "\(connect)", "brokerId": "\(config.nodeId)"])
        } catch {
            throw BrokerStartError.zooKeeper(connect: connect, reason: "\(error)")
        }
    }

    private func bind(_ listener: Listener) async throws -> any Channel {
        let host = listener.host.isEmpty ? "0.0.0.0" : listener.host
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let maxFrame = config.socketRequestMaxBytes
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder(maxFrameBytes: maxFrame)))
                    try channel.pipeline.syncOperations.addHandler(
                        KafkaConnectionHandler(broker: broker, queue: SerialWorkQueue(pool: pool), logger: logger))
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

    /// - Parameter quietly: the broker never served (it could not bind), so no "stopped" line is logged.
    private func stop(server: (any Channel)?, quietly: Bool = false) async {
        try? await server?.close()
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
