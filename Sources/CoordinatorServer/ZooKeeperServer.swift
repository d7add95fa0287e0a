import Coordinator
import CoreMetrics
import Dispatch
import ZooKeeperClient
import FileSystem
import Framing
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import Timekeeping
import ZooKeeperProtocol

/// Why the coordinator could not start, in words a user can act on.
public enum ZooKeeperStartError: Error, CustomStringConvertible {
    case portInUse(host: String, port: Int)
    case cannotBind(host: String, port: Int, reason: String)
    case storage(dataDir: String, CoordinatorStorageError)
    case tls(ZooKeeperTLSError)

    public var description: String {
        switch self {
        case .portInUse(let host, let port):
            return "port \(port) on \(host) is already in use (another ZooKeeper running?); pick another with --client-port (or secureClientPort for the TLS port)"
        case .cannotBind(let host, let port, let reason):
            return "cannot listen on \(host):\(port): \(reason)"
        case .storage(let dataDir, let error):
            return "cannot open the data directory \(dataDir): \(error)"
        case .tls(let error):
            return "\(error)"
        }
    }
}

/// `ledgerstream zookeeper`: a single-node coordinator speaking ZooKeeper's client protocol, as a ServiceLifecycle
/// `Service`.
///
/// Opening it recovers the state from the data directory (so a damaged directory is reported before anything
/// listens). `run()` binds the client port, serves until graceful shutdown (SIGTERM/SIGINT), then stops accepting,
/// closes connections, writes a final snapshot and closes the storage. Sessions survive a restart and expire unless
/// their clients come back within their timeout, as in ZooKeeper.
public final class ZooKeeperServer: Service {
    /// Reported by `srvr`/`mntr` (tools parse the leading ZooKeeper version).
    public static let version = "3.8.0-ledgerstream-0.1.0"

    public let config: ZooKeeperServerConfig
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let handle: EngineHandle
    private let onReady: @Sendable (SocketAddress) -> Void
    private let onSecureReady: @Sendable (SocketAddress) -> Void
    /// The secure client port's TLS context (nil without `secureClientPort`).
    private let tlsContext: NIOSSLContext?
    private let fatal: AsyncStream<any Error>
    private let fatalContinuation: AsyncStream<any Error>.Continuation
    /// What recovery found (for the startup log line and tests).
    public let recovered: (snapshotZxid: Zxid, replayed: Int, truncatedBytes: Int, lastZxid: Zxid)
    private let metrics: CoordinatorMetrics
    /// ``Phase`` as its raw value: read by `/readyz` and scrapes from the operations server's thread.
    private let phase = Atomic<UInt8>(Phase.starting.rawValue)

    /// Where the server is in its life, for readiness and for scrapes (which must not reach a stopped event loop).
    private enum Phase: UInt8 {
        case starting, serving, stopping
    }

    /// Opens the data directory and recovers the state.
    /// - Parameters:
    ///   - onReady: called once with the bound client port address (for the readiness line), after `onSecureReady`.
    ///   - onSecureReady: called once with the bound secure client port address, if there is one.
    /// - Throws: ``ZooKeeperStartError/storage(dataDir:_:)``, ``ZooKeeperStartError/tls(_:)``.
    ///   - fileSystem: where the transaction log and snapshots live (a fault-injecting one in tests).
    ///   - time: the clocks sessions expire by (a manual one in tests).
    ///   - metrics: where the Prometheus metrics go (``CoordinatorMetrics``); nothing is recorded by default.
    public init(
        config: ZooKeeperServerConfig, logger: Logger, fileSystem: any FileSystem = PosixFileSystem(),
        time: any TimeSource = SystemTimeSource(), metrics: any MetricsFactory = NOOPMetricsHandler.instance,
        onReady: @escaping @Sendable (SocketAddress) -> Void = { _ in },
        onSecureReady: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) throws {
        self.config = config
        self.logger = logger
        self.onReady = onReady
        self.onSecureReady = onSecureReady
        if config.secureClientPort != nil {
            do {
                tlsContext = try ZooKeeperTLS.serverContext(config.tls)
            } catch {
                throw ZooKeeperStartError.tls(error)
            }
        } else {
            tlsContext = nil
        }
        let storage: CoordinatorStorage
        let recovery: CoordinatorStorage.Recovery
        self.metrics = CoordinatorMetrics(factory: metrics)
        do {
            let started = time.monotonicNanos()
            (storage, recovery) = try CoordinatorStorage.open(dataDir: config.dataDir, logger: logger, fileSystem: fileSystem)
            self.metrics.dbInitTime.record(CoordinatorMetrics.milliseconds(time.monotonicNanos() - started))
            // Always start from a snapshot of the recovered state: the next recovery replays only what follows.
            if recovery.replayedTransactions > 0 || !storage.hasSnapshot { try storage.snapshot(recovery.state) }
        } catch {
            throw ZooKeeperStartError.storage(dataDir: config.dataDir, error)
        }
        recovered = (recovery.snapshotZxid, recovery.replayedTransactions, recovery.truncatedBytes, recovery.state.lastZxid)
        // One event loop for the engine and every connection: requests are processed one at a time on the engine's
        // loop anyway, and keeping connections there saves two thread hand-offs per request (measured: sync writes
        // and reads waited on cross-thread wake-ups more than on the work itself).
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // One thread: flushes and snapshots run strictly one after another, in order.
        pool = NIOThreadPool(numberOfThreads: 1)
        (fatal, fatalContinuation) = AsyncStream.makeStream(of: (any Error).self)
        let continuation = fatalContinuation
        let loop = group.next()
        let engine = CoordinatorEngine(
            loop: loop, recovery: recovery, storage: storage, pool: pool, config: config,
            version: Self.version, logger: logger, time: time, metrics: self.metrics, onFatal: { continuation.yield($0) })
        handle = EngineHandle(engine, loop: loop)
    }

    public func run() async throws {
        pool.start()
        let channel: any Channel
        var secureChannel: (any Channel)?
        do {
            if let tlsContext, let securePort = config.secureClientPort {
                secureChannel = try await bind(
                    host: config.secureClientPortAddress ?? config.clientPortAddress, port: securePort, tls: tlsContext)
            }
            channel = try await bind(host: config.clientPortAddress, port: config.clientPort, tls: nil)
        } catch {
            phase.store(Phase.stopping.rawValue, ordering: .releasing)
            try? await secureChannel?.close()
            await shutdownResources()
            throw error
        }
        let handle = self.handle
        let port = channel.localAddress?.port ?? config.clientPort
        try? await handle.submit { $0.bound(port: port) }.get()
        if let secureChannel, let address = secureChannel.localAddress { onSecureReady(address) }
        phase.store(Phase.serving.rawValue, ordering: .releasing)
        onReady(channel.localAddress!)
        let tick = handle.loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
            handle.engine.value.tick()
        }
        let fatal = self.fatal
        let fatalError: (any Error)? = await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                try? await gracefulShutdown()
                return nil
            }
            group.addTask {
                for await error in fatal { return error }
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            fatalContinuation.finish()
            return first
        }
        phase.store(Phase.stopping.rawValue, ordering: .releasing)
        logger.info("shutting down")
        tick.cancel()
        try? await channel.close()
        try? await secureChannel?.close()
        await closeConnections()
        try? await handle.submit { $0.stop() }.flatMap { $0 }.get()
        await shutdownResources()
        if let fatalError { throw fatalError }
        logger.info("stopped cleanly", metadata: ["dataDir": "\(config.dataDir)"])
    }

    /// For `/readyz`: nil once the data tree is loaded (at init) and the client ports are bound, until shutdown begins;
    /// otherwise why the server is not serving.
    public var notReadyReason: String? {
        switch Phase(rawValue: phase.load(ordering: .acquiring)) {
        case .serving: nil
        case .starting: "the client port is not bound yet"
        case .stopping, nil: "shutting down"
        }
    }

    /// Sets the metrics' gauges from the engine's state, as `mntr` would report it now: the registry's collector,
    /// run before each scrape on the operations server's thread. The state is loaded before the client port is bound,
    /// so this works from the start; once shutdown begins the gauges keep their last values.
    ///
    /// The state lives on the engine's event loop, so this hops there and waits (a few microseconds unless the loop is
    /// busy; at most ``metricsWaitLimit``, after which the scrape shows the previous values). Blocking is safe: the
    /// caller is not on the engine's loop, and the engine never waits for the caller.
    public func collectMetrics() {
        guard Phase(rawValue: phase.load(ordering: .acquiring)) != .stopping else { return }
        let collected = DispatchSemaphore(value: 0)
        handle.execute { engine in
            engine.recordMetrics()
            collected.signal()
        }
        _ = collected.wait(timeout: .now() + Self.metricsWaitLimit)
    }

    /// How long a scrape waits for the engine's loop.
    public static let metricsWaitLimit = DispatchTimeInterval.seconds(2)

    /// Listens on `host:port`; with `tls`, every connection starts with a TLS handshake (the secure client port).
    private func bind(host: String, port: Int, tls: NIOSSLContext?) async throws -> any Channel {
        let handle = self.handle
        let logger = self.logger
        let maxFrame = config.maxFrameBytes
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let id = handle.allocateID()
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                        try channel.pipeline.syncOperations.addHandler(ZooKeeperTLSIdentityHandler(engine: handle, id: id))
                    }
                    let decoder = LengthPrefixedFrameDecoder(maxFrameBytes: maxFrame) { FourLetterWord.isKnown(firstBytes: $0) }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
                    try channel.pipeline.syncOperations.addHandler(
                        ZooKeeperConnectionHandler(engine: handle, logger: logger, maxFrameBytes: maxFrame, id: id))
                }
            }
        do {
            return try await bootstrap.bind(host: host, port: port).get()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw ZooKeeperStartError.portInUse(host: host, port: port)
        } catch {
            throw ZooKeeperStartError.cannotBind(host: host, port: port, reason: "\(error)")
        }
    }

    private func closeConnections() async {
        let channels = (try? await handle.submit { $0.openChannels() }.get()) ?? []
        for channel in channels { try? await channel.close() }
    }

    private func shutdownResources() async {
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
    }
}

#if canImport(Glibc)
import Glibc
#endif
