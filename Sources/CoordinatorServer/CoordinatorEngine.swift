import Coordinator
#if canImport(Glibc)
import Glibc
#endif
import FileSystem
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Timekeeping
import ZooKeeperProtocol

/// Runs the ``CoordinatorCore`` on one event loop and connects it to the network and the disk: ZooKeeper's request
/// processor chain with the sync stage as a group commit.
///
/// Frames from every connection are handed to this loop in arrival order (per connection) and processed one at a
/// time. Transactions accumulate in a ``BufferedTxnLog``; while one batch is being written and fdatasynced on the
/// thread pool, the next one builds up (ZooKeeper's `SyncRequestProcessor` batching). Every output is held until the
/// log is durable through the zxid the core had reached when producing it, then written in order, so a client never
/// sees a change that a crash could lose, and a watch event still precedes the reply of the write that fired it.
///
/// Confined to `loop`: every method must run there (checked); other threads reach it through ``EngineHandle``.
final class CoordinatorEngine {
    let loop: any EventLoop
    private let core: CoordinatorCore
    private let log: BufferedTxnLog
    /// Used only by the one flush in flight (or at shutdown); the mutex hands it between threads.
    private let storage: StorageBox
    private let storageDirectory: String
    /// The storage's file system, for the `dirs` and `envi` four-letter words.
    private let fileSystem: any FileSystem
    private let pool: NIOThreadPool
    private var config: ZooKeeperServerConfig
    private let logger: Logger
    private let version: String
    private let startedAt: UInt64
    private var channels: [ConnectionID: any Channel] = [:]
    /// Outputs waiting for the log to be durable through `barrier`.
    private var held = CircularBuffer<(barrier: Zxid, output: CoreOutput)>()
    private var durableZxid: Zxid
    private var flushing = false
    private var renewing = false
    private var lastRenewal: UInt64 = 0
    private var stopped = false
    private var statistics = ServerStatistics()
    private var lastContainerCheck: UInt64
    /// Called once if the log cannot be written: the server stops, like ZooKeeper does on a failed fsync.
    private let onFatal: @Sendable (any Error) -> Void
    private let time: any TimeSource
    private let metrics: CoordinatorMetrics

    init(
        loop: any EventLoop, recovery: CoordinatorStorage.Recovery, storage: sending CoordinatorStorage, pool: NIOThreadPool,
        config: ZooKeeperServerConfig, version: String, logger: Logger, time: any TimeSource, metrics: CoordinatorMetrics,
        onFatal: @escaping @Sendable (any Error) -> Void
    ) {
        self.loop = loop
        self.time = time
        self.metrics = metrics
        log = BufferedTxnLog()
        let now = CoreTime(wallMs: time.wallClockMs(), monotonicNanos: time.monotonicNanos())
        core = CoordinatorCore(
            state: recovery.state, limits: config.sessionLimits, secret: recovery.secret, log: log, now: now,
            security: config.security)
        storageDirectory = storage.directory
        fileSystem = storage.fileSystem
        self.storage = StorageBox(storage)
        self.pool = pool
        self.config = config
        self.version = version
        self.logger = logger
        self.onFatal = onFatal
        durableZxid = recovery.state.lastZxid
        startedAt = now.monotonicNanos
        lastContainerCheck = now.monotonicNanos
    }

    /// Now, from the server's time source: the core is told the time with every input, it never reads a clock.
    func now() -> CoreTime {
        CoreTime(wallMs: time.wallClockMs(), monotonicNanos: time.monotonicNanos())
    }

    /// The port actually bound (the configuration may say 0), for `conf`.
    func bound(port: Int) {
        loop.preconditionInEventLoop()
        config.clientPort = port
    }

    // MARK: - Connections

    /// Registers a new connection; one beyond `maxClientCnxns` from the same address is closed instead.
    func opened(_ id: ConnectionID, channel: any Channel) {
        loop.preconditionInEventLoop()
        guard !stopped else {
            channel.close(promise: nil)
            return
        }
        let ip = channel.remoteAddress?.ipAddress ?? "unknown"
        if config.maxClientCnxns > 0 {
            let sameIP = core.connections.values.filter { $0.remoteIP == ip }.count
            if sameIP >= config.maxClientCnxns {
                logger.warning("too many connections", metadata: ["client": "\(ip)", "max": "\(config.maxClientCnxns)"])
                channel.close(promise: nil)
                return
            }
        }
        channels[id] = channel
        let port = channel.remoteAddress?.port.map { ":\($0)" } ?? ""
        core.connectionOpened(id, remoteAddress: ip + port, remoteIP: ip)
    }

    /// The connection's TLS handshake verified a client certificate (subject DN in RFC 4514 form).
    func authenticated(_ id: ConnectionID, certificateSubject: String) {
        loop.preconditionInEventLoop()
        core.connectionAuthenticated(id, certificateSubject: certificateSubject)
    }

    func closed(_ id: ConnectionID) {
        loop.preconditionInEventLoop()
        channels[id] = nil
        core.connectionClosed(id)
    }

    func receive(_ frame: ByteBuffer, from id: ConnectionID) {
        loop.preconditionInEventLoop()
        guard !stopped, channels[id] != nil else { return }
        statistics.packetsReceived += 1
        dispatch(core.receive(frame, from: id, at: now()))
    }

    /// The periodic check: session expiry (every call; deadlines are tick-aligned) and empty containers.
    func tick() {
        loop.preconditionInEventLoop()
        guard !stopped else { return }
        let now = now()
        if let deadline = core.sessions.nextDeadline, deadline <= now.monotonicMs {
            dispatch(core.expireSessions(at: now))
        }
        renewReserveIfRefusing()
        if now.monotonicNanos - lastContainerCheck >= UInt64(config.containerCheckIntervalMs) * 1_000_000 {
            lastContainerCheck = now.monotonicNanos
            dispatch(core.deleteEmptyContainers(at: now))
        }
    }

    // MARK: - Output gating and group commit

    private func dispatch(_ outputs: [CoreOutput]) {
        let barrier = core.lastZxid
        if held.isEmpty && barrier <= durableZxid {
            send(outputs)
        } else {
            for output in outputs { held.append((barrier, output)) }
        }
        startFlushIfNeeded()
    }

    private func startFlushIfNeeded() {
        guard !flushing, !stopped, log.hasPending else { return }
        flushing = true
        let bytes = log.takePending()
        let through = core.lastZxid
        let snapshot: CoordinatorState? = log.sinceSnapshot >= config.snapCount ? core.state : nil
        if snapshot != nil { log.snapshotTaken() }
        let storage = self.storage
        let time = self.time
        let done = pool.runIfActive(eventLoop: loop) { () throws -> FlushOutcome in
            try storage.mutex.withLock { storage in
                let started = time.monotonicNanos()
                try storage.writeAndSync(bytes)
                let synced = time.monotonicNanos()
                var outcome = FlushOutcome(syncNanos: synced - started)
                // No snapshot on a nearly full disk: the log, which recovery replays, is enough.
                if let snapshot, storage.lowOnSpace == nil {
                    try storage.snapshot(snapshot)
                    outcome.snapshotNanos = time.monotonicNanos() - synced
                }
                outcome.lowOnSpace = storage.lowOnSpace
                return outcome
            }
        }
        let engine = NIOLoopBound(self, eventLoop: loop)
        done.whenComplete { result in engine.value.flushed(through: through, result: result) }
    }

    /// Follows the log's room: write requests are refused (NotReadOnly) while the disk is nearly full, and accepted
    /// again once the reserve could be renewed. Each change is logged once.
    private func spaceChecked(_ lowOnSpace: String?) {
        if let reason = lowOnSpace, core.refusingWrites == nil {
            logger.error("the coordinator's disk is nearly full: write requests are refused (NotReadOnly) until space is freed; reads and sessions go on", metadata: [
                "dataDir": "\(storageDirectory)", "error": "\(reason)"])
        } else if lowOnSpace == nil, core.refusingWrites != nil {
            logger.notice("the coordinator's disk has room again: write requests are accepted", metadata: ["dataDir": "\(storageDirectory)"])
        }
        core.refusingWrites = lowOnSpace
    }

    /// While writes are refused, the periodic check tries to renew the log's reserve (off the event loop).
    private func renewReserveIfRefusing() {
        guard core.refusingWrites != nil, !renewing, !flushing else { return }
        let now = now().monotonicNanos
        guard now - lastRenewal >= 1_000_000_000 else { return }
        lastRenewal = now
        renewing = true
        let storage = self.storage
        let done = pool.runIfActive(eventLoop: loop) { () throws -> String? in
            try storage.mutex.withLock { storage in
                try storage.renewReserve()
                return storage.lowOnSpace
            }
        }
        let engine = NIOLoopBound(self, eventLoop: loop)
        done.whenComplete { result in
            let engine = engine.value
            engine.renewing = false
            switch result {
            case .success(let lowOnSpace): engine.spaceChecked(lowOnSpace)
            case .failure(let error): engine.fail(error)
            }
        }
    }

    private func fail(_ error: any Error) {
        guard !stopped else { return }
        logger.critical("cannot write the transaction log; stopping", metadata: ["error": "\(error)"])
        stopped = true
        held.removeAll()
        onFatal(error)
    }

    private func flushed(through: Zxid, result: Result<FlushOutcome, any Error>) {
        flushing = false
        switch result {
        case .success(let outcome):
            metrics.fsyncTime.record(CoordinatorMetrics.milliseconds(outcome.syncNanos))
            if let nanos = outcome.snapshotNanos { metrics.snapshotTime.record(CoordinatorMetrics.milliseconds(nanos)) }
            spaceChecked(outcome.lowOnSpace)
        case .failure(let error):
            fail(error)
            return
        }
        durableZxid = through
        var ready: [CoreOutput] = []
        while let first = held.first, first.barrier <= durableZxid {
            ready.append(held.removeFirst().output)
        }
        send(ready)
        startFlushIfNeeded()
    }

    /// Writes outputs, grouped per connection in order, each group in one hop to the channel's event loop.
    private func send(_ outputs: [CoreOutput]) {
        guard !outputs.isEmpty else { return }
        let nowNanos = now().monotonicNanos
        var groups: [ConnectionID: [CoreOutput]] = [:]
        var order: [ConnectionID] = []
        for output in outputs {
            let id = output.connection
            if groups[id] == nil { order.append(id) }
            groups[id, default: []].append(output)
            switch output {
            case .reply(_, _, let arrived):
                statistics.packetsSent += 1
                statistics.recordLatency(ms: Int64((nowNanos &- arrived) / 1_000_000))
            case .handshake, .event:
                statistics.packetsSent += 1
            case .close(_, let reason):
                if reason.hasPrefix("authentication failed") {
                    // ZooKeeper logs these at WARN too: a misconfigured client, or someone guessing passwords.
                    let client = core.connections[id]?.remoteAddress ?? "?"
                    logger.warning("closing connection", metadata: ["client": "\(client)", "reason": "\(reason)"])
                } else {
                    logger.debug("closing connection", metadata: ["connection": "\(id)", "reason": "\(reason)"])
                }
            }
        }
        for id in order {
            guard let channel = channels[id] else { continue }
            let frames = groups[id]!
            if frames.contains(where: { if case .close = $0 { return true } else { return false } }) {
                channels[id] = nil
            }
            channel.eventLoop.execute {
                Self.write(frames, to: channel)
            }
        }
    }

    private static func write(_ outputs: [CoreOutput], to channel: any Channel) {
        for output in outputs {
            switch output {
            case .handshake(_, let bytes), .reply(_, let bytes, _), .event(_, let bytes):
                channel.write(bytes, promise: nil)
            case .close:
                // Close only after what came before is on the wire (closeSession's reply, an expiry answer).
                let written = channel.eventLoop.makePromise(of: Void.self)
                channel.writeAndFlush(ByteBuffer(), promise: written)
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
                return
            }
        }
        channel.flush()
    }

    // MARK: - Four-letter words

    func fourLetterWord(_ word: String) -> String {
        loop.preconditionInEventLoop()
        if config.allows(word) {
            if word == "srst" { statistics.reset() }
        }
        return FourLetterWordResponder.respond(to: word, snapshot: snapshot())
    }

    /// Sets the metrics' gauges from what `mntr` would say now (before a scrape).
    func recordMetrics() {
        loop.preconditionInEventLoop()
        metrics.record(snapshot())
    }

    private func snapshot() -> ServerSnapshot {
        let state = core.state
        let storageBytes = fileSystem.directorySize(storageDirectory)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let openFiles = (try? fileSystem.listDirectory("/proc/self/fd").count) ?? 0
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let outstanding = held.reduce(0) { count, entry in
            if case .reply = entry.output { count + 1 } else { count }
        }
        return ServerSnapshot(
            version: version, statistics: statistics, authFailures: core.authFailures,
            connections: core.connections.sorted { $0.key < $1.key }.map(\.value), lastZxid: state.lastZxid,
            nodeCount: state.tree.nodeCount, ephemerals: state.tree.ephemerals,
            sessions: state.sessions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            watchCount: core.watches.watchCount, watchedPaths: core.watches.watchedPathCount,
            watchingConnections: core.watches.watchingConnectionCount, approximateDataSize: state.tree.approximateDataSize,
            config: config, storageDirectory: storageDirectory, storageBytes: storageBytes,
            uptimeMs: Int64((now().monotonicNanos - startedAt) / 1_000_000), openFileDescriptors: openFiles,
            maxFileDescriptors: Int(limit.rlim_cur),
            environment: [
                ("zookeeper.version", version), ("host.name", Self.string(host)),
                ("os.name", "Linux"), ("user.dir", Self.currentDirectory()),
            ], outstandingRequests: outstanding)
    }

    private static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        return getcwd(&buffer, buffer.count) != nil ? string(buffer) : "?"
    }

    private static func string(_ cString: [CChar]) -> String {
        String(decoding: cString.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Shutdown

    func openChannels() -> [any Channel] {
        loop.preconditionInEventLoop()
        return Array(channels.values)
    }

    /// Stops processing, writes what is pending and a final snapshot (so the next start needs no replay), and closes
    /// the storage. Sessions are kept: clients that reconnect within their timeout after a restart keep them.
    func stop() -> EventLoopFuture<Void> {
        loop.preconditionInEventLoop()
        stopped = true
        held.removeAll()
        let bytes = log.takePending()
        let state = core.state
        let storage = self.storage
        let logger = self.logger
        // A flush in flight finishes first: the pool has one thread, so this task queues behind it.
        return pool.runIfActive(eventLoop: loop) {
            try storage.mutex.withLock { storage in
                try storage.writeAndSync(bytes)
                try storage.snapshot(state)
                storage.close()
            }
        }.flatMapErrorThrowing { error in
            logger.error("could not write the final snapshot; the next start replays the log", metadata: ["error": "\(error)"])
        }
    }
}

/// What one group commit took, and whether the disk is nearly full afterwards.
private struct FlushOutcome: Sendable {
    var syncNanos: UInt64
    var snapshotNanos: UInt64?
    var lowOnSpace: String?
}

/// The storage, owned by whichever thread holds the lock: the one flush in flight, or shutdown.
private final class StorageBox: Sendable {
    let mutex: Mutex<CoordinatorStorage>

    init(_ storage: sending CoordinatorStorage) {
        mutex = Mutex(storage)
    }
}
