import ZooKeeperClient
import FileSystem
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import Synchronization
import TransactionCoordinator
import Timekeeping

/// The broker's request processing, independent of sockets: `handle(frame:context:)` turns one request frame into a
/// ``RequestOutcome``. The NIO server (``BrokerServer``) feeds it frames on I/O threads and writes the outcomes back
/// in request order.
///
/// Thread-safe. Shared state lives in small lock-protected parts: the topic registry, each partition log, the group
/// and transaction coordinators, the fetch purgatory and the metadata store.
public final class Broker: Sendable {
    package let config: BrokerConfig
    /// What the active segments may hold reserved past their ends (`log.reservation.budget.bytes`, or a twentieth
    /// of the data directory's free space when this broker started). The process applies it to
    /// ``ReservationBudget/shared`` (the `broker` and `demo` commands do): a broker leaves process-wide settings alone.
    public let reservationBudgetBytes: Int
    let logger: Logger
    let logs: LogManager
    let store: MetadataStore
    package let topics = TopicRegistry()
    package let clusterId: String
    let purgatory = FetchPurgatory()
    /// Incremental fetch sessions (KIP-227).
    let fetchSessions: Mutex<FetchSessionCache>
    package let groups: GroupCoordinatorService
    let transactions: TransactionCoordinatorService
    let producerIds: ProducerIdAllocator
    let security: SecurityService
    let clock: any TimeSource
    /// Request, topic, partition and group metrics (no-ops unless the process serves metrics).
    package let metrics: BrokerMetrics
    /// Clients that asked for their telemetry subscription (GetTelemetrySubscriptions throttling).
    let telemetryInstances = TelemetryInstances()
    /// Addresses clients are told to use; fixed once the listener is bound (port 0 becomes the real port).
    private let advertised: Mutex<[Listener]>
    /// Serialises topic creation, deletion and changes, which touch the store, the registry and the log manager.
    private let topicChanges = Mutex(())
    /// The broker's registration in ZooKeeper (with `zookeeper.connect`), told about topic changes.
    private let registration = Mutex<KafkaZooKeeperRegistration?>(nil)

    package var zooKeeper: KafkaZooKeeperRegistration? {
        get { registration.withLock { $0 } }
        set { registration.withLock { $0 = newValue } }
    }

    /// - Parameter fileSystem: where the partition logs live (a fault-injecting one in tests); the metadata store
    ///   is SQLite's own business.
    /// - Parameter metrics: where the broker's metrics go (``BrokerMetrics/disabled``: nowhere).
    public init(
        config: BrokerConfig, logger: Logger, clock: any TimeSource = SystemTimeSource(),
        fileSystem: any FileSystem = PosixFileSystem(), metrics: BrokerMetrics = .disabled
    ) throws {
        try config.consumerGroups.validate()
        self.config = config
        self.logger = logger
        self.clock = clock
        self.metrics = metrics
        fetchSessions = Mutex(FetchSessionCache(
            maxSlots: config.maxIncrementalFetchSessionCacheSlots, evictionMs: config.minIncrementalFetchSessionEvictionMs))
        let flushTime = metrics.flushTime
        var onFlush: FlushObserver?
        if metrics.isEnabled { onFlush = { duration in flushTime.recordDuration(duration) } }
        logs = try LogManager(
            directory: config.dataDirectory, defaultConfig: config.logDefaults, clock: clock, logger: logger,
            fileSystem: fileSystem, onFlush: onFlush)
        reservationBudgetBytes = config.logReservationBudgetBytes
            ?? ReservationBudget.defaultLimit(usableBytes: FileSystemSpace(path: config.dataDirectory)?.usableBytes)
        store = try MetadataStore(path: config.dataDirectory + "/metadata.db")
        clusterId = try store.clusterId()
        producerIds = ProducerIdAllocator(store: store, allocated: metrics.producerIdsAllocated)
        security = try SecurityService(config: config, store: store, logger: logger)
        advertised = Mutex(config.advertisedListeners ?? config.listeners)
        groups = GroupCoordinatorService(config: config, store: store, logger: logger, clock: clock)
        var transactionConfig = TransactionCoordinatorConfig()
        transactionConfig.maxTimeoutMs = config.transactionMaxTimeoutMs
        transactionConfig.idExpirationMs = config.transactionalIdExpirationMs
        transactions = try TransactionCoordinatorService(
            config: transactionConfig, store: store, topics: topics, purgatory: purgatory, groups: groups,
            producerIds: producerIds, clock: clock, logger: logger)
        try loadTopics()
        try groups.loadOffsets()
        // Transactions decided before the last stop get their missing markers before anything is served.
        transactions.recover()
    }

    /// Opens every known topic's logs (recovering them after an unclean shutdown) and adopts partition directories
    /// that the metadata store does not know, so data is never dropped silently.
    private func loadTopics() throws {
        var stored = try store.loadTopics()
        let known = Set(stored.map(\.name))
        var orphans: [String: Int32] = [:]
        for (topic, partition) in try logs.partitionsOnDisk() where !known.contains(topic) {
            orphans[topic] = max(orphans[topic] ?? 0, partition + 1)
        }
        for (name, count) in orphans.sorted(by: { $0.key < $1.key }) where TopicName.problem(name) == nil {
            logger.warning("adopting partition directories of a topic missing from metadata.db", metadata: [
                "topic": "\(name)", "partitions": "\(count)",
            ])
            let topic = StoredTopic(name: name, id: KafkaUUID.random(), partitionCount: count, configs: [:],
                                    createdMs: clock.wallClockMs())
            try store.createTopic(topic)
            stored.append(topic)
        }
        for topic in stored {
            let logConfig = (try? config.logDefaults.applying(topic.configs)) ?? config.logDefaults
            var opened: [PartitionLog] = []
            for partition in 0..<topic.partitionCount {
                opened.append(try logs.openLog(topic: topic.name, partition: partition, config: logConfig))
            }
            topics.put(Topic(name: topic.name, id: topic.id, configOverrides: topic.configs, config: logConfig,
                             logs: opened, createdMs: topic.createdMs, metrics: metrics.topic(topic.name)))
        }
        if !stored.isEmpty {
            logger.info("loaded topics", metadata: [
                "topics": "\(stored.count)", "partitions": "\(stored.reduce(0) { $0 + Int($1.partitionCount) })",
                "cleanShutdown": "\(logs.previousShutdownWasClean)",
            ])
        }
    }

    var nodeId: Int32 { config.nodeId }

    /// The listener clients should connect to (the first; ZooKeeper registration and defaults).
    package var advertisedListener: Listener { advertised.withLock { $0[0] } }

    /// The address advertised for the listener a client came in on, as Kafka does: a client on the SASL_SSL
    /// listener is told the SASL_SSL address of every broker, never another listener's.
    package func advertisedListener(named name: String) -> Listener {
        advertised.withLock { listeners in listeners.first { $0.name == name } ?? listeners[0] }
    }

    /// Called once the server is bound: listeners on port 0 are advertised with the port actually bound.
    package func bound(ports: [String: Int]) {
        advertised.withLock { listeners in
            if config.advertisedListeners == nil {
                listeners = config.listeners.map { listener in
                    var copy = listener
                    if copy.port == 0 { copy.port = ports[listener.name] ?? 0 }
                    if copy.host.isEmpty || copy.host == "0.0.0.0" || copy.host == "::" { copy.host = "127.0.0.1" }
                    return copy
                }
            }
        }
    }

    // MARK: Dispatch

    /// Decodes and answers one request frame (the 4-byte size prefix already removed).
    package func handle(frame: ByteBuffer, session: ConnectionSession, eventLoop: any EventLoop) -> RequestOutcome {
        handle(frame: frame, session: session, eventLoop: eventLoop, receivedAt: nil).outcome
    }

    /// Decodes and answers one request frame, counting and timing it: `receivedAt` is when the frame arrived (for
    /// the queue time). Returns the request's API timers too, so the server can record the total time once the
    /// response is written; nil for frames that are not Kafka requests (raw SASL tokens) or when metrics are off.
    package func handle(
        frame: ByteBuffer, session: ConnectionSession, eventLoop: any EventLoop, receivedAt: NIODeadline?
    ) -> (outcome: RequestOutcome, api: ApiMetrics?) {
        if case .some(let outcome) = saslGate(frame: frame, session: session, eventLoop: eventLoop) { return (outcome, nil) }
        guard let peek = RequestHeader.peek(frame) else {
            return (.close(reason: "frame of \(frame.readableBytes) bytes is too short for a request header"), nil)
        }
        guard metrics.isEnabled else { return (dispatch(frame, peek, session: session, eventLoop: eventLoop), nil) }
        let started = NIODeadline.now()
        let supported = peek.apiKey.schema?.versions.contains(peek.apiVersion) == true
        let api = metrics.request(peek.apiKey, version: supported ? peek.apiVersion : nil)
        if let receivedAt { api.queueTime.recordNanoseconds((started - receivedAt).nanoseconds) }
        let outcome = dispatch(frame, peek, session: session, eventLoop: eventLoop)
        api.localTime.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
        return (outcome, api)
    }

    private func dispatch(
        _ frame: ByteBuffer, _ peek: (apiKey: ApiKey, apiVersion: Int16, correlationId: Int32), session: ConnectionSession, eventLoop: any EventLoop
    ) -> RequestOutcome {
        // KIP-511: an ApiVersions request of a version we do not know is answered (v0 format) without parsing it,
        // so the client can retry with a version we do support.
        if peek.apiKey == .apiVersions && !ApiVersionsRequest.supportedVersions.contains(peek.apiVersion) {
            metrics.countError(.unsupportedVersion, api: .apiVersions, version: nil)
            return .response(apiVersionsFallback(correlationId: peek.correlationId))
        }
        guard let schema = peek.apiKey.schema else {
            return .close(reason: "unknown API key \(peek.apiKey.rawValue) (correlation id \(peek.correlationId))")
        }
        guard schema.versions.contains(peek.apiVersion) else {
            metrics.countError(.unsupportedVersion, api: peek.apiKey, version: nil)
            return .close(reason: "\(schema.name) v\(peek.apiVersion) is not supported (supported: v\(schema.versions.lowerBound)-v\(schema.versions.upperBound))")
        }
        var reader = KafkaReader(frame)
        do {
            let header = try RequestHeader(from: &reader)
            let context = RequestContext(header: header, session: session, security: security, eventLoop: eventLoop,
                                         metrics: metrics)
            logger.trace("request", metadata: [
                "api": "\(header.apiKey)", "version": "\(header.apiVersion)", "correlationId": "\(header.correlationId)",
                "client": "\(header.clientId ?? "")@\(session.clientHost)",
            ])
            return try dispatch(&reader, context)
        } catch {
            metrics.countError(.invalidRequest, api: peek.apiKey, version: peek.apiVersion)
            return .close(reason: "malformed \(schema.name) v\(peek.apiVersion) request: \(error)")
        }
    }

    private func decode<R: KafkaRequest>(_ type: R.Type, _ reader: inout KafkaReader, _ context: RequestContext) throws(KafkaDecodingError) -> R {
        // Trailing bytes are tolerated, as Apache Kafka does: librdkafka 2.16 sends three after an all-topics
        // Metadata v9+ request.
        try R(from: &reader, version: context.version)
    }

    private func dispatch(_ reader: inout KafkaReader, _ context: RequestContext) throws(KafkaDecodingError) -> RequestOutcome {
        switch context.header.apiKey {
        case .produce: return handleProduce(try decode(ProduceRequest.self, &reader, context), context)
        case .fetch: return handleFetch(try decode(FetchRequest.self, &reader, context), context)
        case .listOffsets: return handleListOffsets(try decode(ListOffsetsRequest.self, &reader, context), context)
        case .offsetForLeaderEpoch:
            return handleOffsetForLeaderEpoch(try decode(OffsetForLeaderEpochRequest.self, &reader, context), context)
        case .metadata: return handleMetadata(try decode(MetadataRequest.self, &reader, context), context)
        case .offsetCommit: return handleOffsetCommit(try decode(OffsetCommitRequest.self, &reader, context), context)
        case .offsetFetch: return handleOffsetFetch(try decode(OffsetFetchRequest.self, &reader, context), context)
        case .findCoordinator: return handleFindCoordinator(try decode(FindCoordinatorRequest.self, &reader, context), context)
        case .joinGroup: return handleJoinGroup(try decode(JoinGroupRequest.self, &reader, context), context)
        case .heartbeat: return handleHeartbeat(try decode(HeartbeatRequest.self, &reader, context), context)
        case .leaveGroup: return handleLeaveGroup(try decode(LeaveGroupRequest.self, &reader, context), context)
        case .syncGroup: return handleSyncGroup(try decode(SyncGroupRequest.self, &reader, context), context)
        case .describeGroups: return handleDescribeGroups(try decode(DescribeGroupsRequest.self, &reader, context), context)
        case .listGroups: return handleListGroups(try decode(ListGroupsRequest.self, &reader, context), context)
        case .apiVersions: return handleApiVersions(try decode(ApiVersionsRequest.self, &reader, context), context)
        case .createTopics: return handleCreateTopics(try decode(CreateTopicsRequest.self, &reader, context), context)
        case .deleteTopics: return handleDeleteTopics(try decode(DeleteTopicsRequest.self, &reader, context), context)
        case .deleteRecords: return handleDeleteRecords(try decode(DeleteRecordsRequest.self, &reader, context), context)
        case .initProducerId: return handleInitProducerId(try decode(InitProducerIdRequest.self, &reader, context), context)
        case .describeConfigs: return handleDescribeConfigs(try decode(DescribeConfigsRequest.self, &reader, context), context)
        case .createPartitions: return handleCreatePartitions(try decode(CreatePartitionsRequest.self, &reader, context), context)
        case .incrementalAlterConfigs:
            return handleIncrementalAlterConfigs(try decode(IncrementalAlterConfigsRequest.self, &reader, context), context)
        case .describeCluster: return handleDescribeCluster(try decode(DescribeClusterRequest.self, &reader, context), context)
        case .addPartitionsToTxn:
            return handleAddPartitionsToTxn(try decode(AddPartitionsToTxnRequest.self, &reader, context), context)
        case .addOffsetsToTxn: return handleAddOffsetsToTxn(try decode(AddOffsetsToTxnRequest.self, &reader, context), context)
        case .endTxn: return handleEndTxn(try decode(EndTxnRequest.self, &reader, context), context)
        case .txnOffsetCommit: return handleTxnOffsetCommit(try decode(TxnOffsetCommitRequest.self, &reader, context), context)
        case .consumerGroupHeartbeat:
            return handleConsumerGroupHeartbeat(try decode(ConsumerGroupHeartbeatRequest.self, &reader, context), context)
        case .consumerGroupDescribe:
            return handleConsumerGroupDescribe(try decode(ConsumerGroupDescribeRequest.self, &reader, context), context)
        case .describeTransactions:
            return handleDescribeTransactions(try decode(DescribeTransactionsRequest.self, &reader, context), context)
        case .listTransactions:
            return handleListTransactions(try decode(ListTransactionsRequest.self, &reader, context), context)
        case .describeProducers:
            return handleDescribeProducers(try decode(DescribeProducersRequest.self, &reader, context), context)
        case .saslHandshake: return handleSaslHandshake(try decode(SaslHandshakeRequest.self, &reader, context), context)
        case .saslAuthenticate: return handleSaslAuthenticate(try decode(SaslAuthenticateRequest.self, &reader, context), context)
        case .describeAcls: return handleDescribeAcls(try decode(DescribeAclsRequest.self, &reader, context), context)
        case .createAcls: return handleCreateAcls(try decode(CreateAclsRequest.self, &reader, context), context)
        case .deleteAcls: return handleDeleteAcls(try decode(DeleteAclsRequest.self, &reader, context), context)
        case .describeUserScramCredentials:
            return handleDescribeUserScramCredentials(try decode(DescribeUserScramCredentialsRequest.self, &reader, context), context)
        case .alterUserScramCredentials:
            return handleAlterUserScramCredentials(try decode(AlterUserScramCredentialsRequest.self, &reader, context), context)
        case .deleteGroups: return handleDeleteGroups(try decode(DeleteGroupsRequest.self, &reader, context), context)
        case .offsetDelete: return handleOffsetDelete(try decode(OffsetDeleteRequest.self, &reader, context), context)
        case .describeLogDirs: return handleDescribeLogDirs(try decode(DescribeLogDirsRequest.self, &reader, context), context)
        case .alterConfigs: return handleAlterConfigs(try decode(AlterConfigsRequest.self, &reader, context), context)
        case .describeTopicPartitions:
            return handleDescribeTopicPartitions(try decode(DescribeTopicPartitionsRequest.self, &reader, context), context)
        case .getTelemetrySubscriptions:
            return handleGetTelemetrySubscriptions(try decode(GetTelemetrySubscriptionsRequest.self, &reader, context), context)
        default:
            return .close(reason: "API \(context.header.apiKey) has a schema but no handler")
        }
    }

    // MARK: Lifecycle

    /// One round of background work: retention, policy flushes, producer expiry, checkpoints, idle transactional ids.
    package func runMaintenance() {
        logs.runMaintenance(producerIdExpirationMs: config.producerIdExpirationMs)
        transactions.expireIdleIds()
        transactions.abortHangingTransactions()
    }

    /// Starts the log cleaner thread (with `log.cleaner.enable`), which compacts `cleanup.policy=compact` logs;
    /// ``shutdown()`` stops it.
    package func startLogCleaner() {
        logs.startCleaner(config.cleaner)
    }

    /// Clean shutdown of the storage: logs flushed and closed, checkpoints and the clean-shutdown marker written.
    package func shutdown() throws {
        purgatory.completeAll()
        transactions.shutdown()
        groups.shutdown()
        try logs.shutdown()
        store.close()
    }

    func withTopicChanges<T: Sendable>(_ body: () throws -> T) rethrows -> T {
        try topicChanges.withLock { _ in try body() }
    }
}
