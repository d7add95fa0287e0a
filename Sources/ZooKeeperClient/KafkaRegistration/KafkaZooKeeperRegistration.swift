import Coordinator
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import ZooKeeperProtocol

/// Why the broker could not register in ZooKeeper.
public enum KafkaRegistrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case zooKeeper(ZooKeeperClientError)
    /// `/cluster/id` names another cluster (Kafka's `InconsistentClusterIdException`).
    case clusterIdMismatch(ours: String, registered: String)
    /// Another live session holds `/brokers/ids/<id>` and did not let go in time.
    case brokerIdInUse(brokerId: Int32, owner: SessionID)
    /// The security settings do not fit together (secure ACLs without an identity to own them).
    case misconfigured(String)

    public var description: String {
        switch self {
        case .zooKeeper(.keeper(.noAuth, let path)):
            return "ZooKeeper refused access to \(path) (NoAuth): its ACL does not grant this broker's ZooKeeper identity; check the JAAS Client section (java.security.auth.login.config), zookeeper.set.acl, or the znode's ACL (zkCli getAcl \(path))"
        case .zooKeeper(.authFailed(let why)):
            return "\(why); check the credentials in the JAAS Client section (java.security.auth.login.config) against the ZooKeeper server's users"
        case .misconfigured(let why): return why
        case .zooKeeper(let error): return "\(error)"
        case .clusterIdMismatch(let ours, let registered):
            return "the cluster id in ZooKeeper (\(registered)) does not match this broker's (\(ours)); is zookeeper.connect pointing at another cluster's ZooKeeper (use a chroot)?"
        case .brokerIdInUse(let id, let owner):
            return "broker id \(id) is registered by another live session (\(owner)); is another broker running with node.id \(id)?"
        }
    }
}

/// Registers a broker in ZooKeeper the way a ZooKeeper-mode Kafka broker does (``KafkaZNodes``), and keeps the
/// registration current: Apache ZooKeeper and `ledgerstream zookeeper` alike.
///
/// At start it creates the chroot and Kafka's persistent paths, checks or writes `/cluster/id`, creates the
/// ephemeral `/brokers/ids/<id>`, becomes controller through the ephemeral `/controller` (incrementing
/// `/controller_epoch` in the same transaction, as Kafka does; if another broker holds it, it watches and takes over
/// when it goes), and writes each topic's assignment and partition states. If the session expires (the coordinator
/// lost contact for longer than the timeout), it opens a new session and registers again. ``stop()`` closes the
/// session, so the ephemeral nodes vanish at once; a broker that dies instead loses them when the session expires.
///
/// Typical wiring:
/// ```swift
/// let registration = try await KafkaZooKeeperRegistration.start(
///     connect: "127.0.0.1:2181/kafka", brokerId: 1, host: "127.0.0.1", port: 9092, clusterId: clusterId,
///     topics: [.init(name: "payments", id: "q1w2…", partitions: 3)], logger: logger)
/// await registration.topicCreated(name: "refunds", id: "…", partitions: 1)
/// registration.enqueueTopicDeleted(name: "refunds")    // from synchronous code
/// await registration.stop()
/// ```
public actor KafkaZooKeeperRegistration {
    /// A topic as the registration needs it: its id in Kafka's text form (22-character URL-safe base64).
    public struct Topic: Sendable, Equatable {
        public var name: String
        public var id: String
        public var partitions: Int32

        public init(name: String, id: String, partitions: Int32) {
            self.name = name
            self.id = id
            self.partitions = partitions
        }
    }

    public nonisolated let connect: String
    public nonisolated let brokerId: Int32
    private let host: String
    private let port: Int
    /// Every listener, written to `/brokers/ids/<id>`.
    private let endpoints: [BrokerEndpoint]
    private let rack: String?
    private let clusterId: String
    private let sessionTimeoutMs: Int32
    /// Presented on every connection (digest or SASL DIGEST-MD5), and TLS for the connection.
    private let credentials: ZooKeeperCredentials?
    private let tls: ZooKeeperClientTLS?
    /// `zookeeper.set.acl`: znodes are created with ``KafkaZNodes/defaultACLs(secure:path:)``.
    private let secureAcls: Bool
    private let logger: Logger
    private var client: ZooKeeperClient
    private var topics: [String: Topic] = [:]
    /// Topics whose registration failed for a transient reason; retried after the next (re)connection.
    private var unsynced: Set<String> = []
    private var controllerEpoch: Int32 = 0
    private var supervisor: Task<Void, Never>?
    private var stopped = false
    /// Topic changes queued by synchronous callers, applied in order by `changeWorker`.
    private nonisolated let queuedChanges: AsyncStream<TopicChange>.Continuation
    private let changes: AsyncStream<TopicChange>
    private var changeWorker: Task<Void, Never>?

    private enum TopicChange: Sendable {
        case created(Topic)
        case deleted(String)
    }

    private init(
        connect: String, brokerId: Int32, host: String, port: Int, endpoints: [BrokerEndpoint]?, rack: String?, clusterId: String,
        sessionTimeoutMs: Int32, credentials: ZooKeeperCredentials?, tls: ZooKeeperClientTLS?, secureAcls: Bool,
        client: ZooKeeperClient, logger: Logger
    ) {
        self.endpoints = endpoints ?? [BrokerEndpoint(listenerName: "PLAINTEXT", securityProtocol: "PLAINTEXT", host: host, port: port)]
        self.credentials = credentials
        self.tls = tls
        self.secureAcls = secureAcls
        self.connect = connect
        self.brokerId = brokerId
        self.host = host
        self.port = port
        self.rack = rack
        self.clusterId = clusterId
        self.sessionTimeoutMs = sessionTimeoutMs
        self.client = client
        self.logger = logger
        (changes, queuedChanges) = AsyncStream.makeStream(of: TopicChange.self)
    }

    /// Connects (trying for up to `sessionTimeoutMs`) and registers the broker and `topics`.
    /// - Parameters:
    ///   - connect: Kafka's `zookeeper.connect`, `host:port[,host:port…][/chroot]`.
    ///   - host, port: the advertised PLAINTEXT endpoint.
    ///   - sessionTimeoutMs: Kafka's `zookeeper.session.timeout.ms` (18 s by default).
    ///   - credentials: the broker's ZooKeeper identity, presented after every (re)connection: Kafka takes it from the
    ///     JAAS `Client` section of `java.security.auth.login.config` (`username`/`password` of `DigestLoginModule`
    ///     → ``ZooKeeperCredentials/saslDigestMD5(username:password:)``); nil: anonymous.
    ///   - secureAcls: Kafka's `zookeeper.set.acl`: create znodes readable by all but writable only by this identity
    ///     (``KafkaZNodes/defaultACLs(secure:path:)``). Needs `credentials` or a TLS client certificate.
    ///   - tls: connect over TLS (`zookeeper.ssl.client.enable` and the `zookeeper.ssl.*` stores).
    ///   - endpoints: every listener, as `/brokers/ids/<id>` lists them; nil: one PLAINTEXT endpoint at host:port.
    /// - Throws: ``KafkaRegistrationError``; nothing is left registered when it throws.
    public static func start(
        connect: String, brokerId: Int32, host: String, port: Int, clusterId: String, topics: [Topic] = [],
        rack: String? = nil, sessionTimeoutMs: Int32 = 18_000, credentials: ZooKeeperCredentials? = nil,
        secureAcls: Bool = false, tls: ZooKeeperClientTLS? = nil, endpoints: [BrokerEndpoint]? = nil, logger: Logger
    ) async throws(KafkaRegistrationError) -> KafkaZooKeeperRegistration {
        if secureAcls && credentials == nil && tls?.certificateChain == nil {
            throw .misconfigured(
                "zookeeper.set.acl is true, but the broker has no ZooKeeper identity to own its znodes: give it SASL credentials (a JAAS Client section in java.security.auth.login.config) or a TLS client certificate (zookeeper.ssl.client.enable, zookeeper.ssl.keystore.location)")
        }
        let client: ZooKeeperClient
        do {
            client = try await ZooKeeperClient.connect(
                to: connect, sessionTimeoutMs: sessionTimeoutMs, credentials: credentials.map { [$0] } ?? [], tls: tls,
                logger: logger)
        } catch {
            throw .zooKeeper(error)
        }
        let registration = KafkaZooKeeperRegistration(
            connect: connect, brokerId: brokerId, host: host, port: port, endpoints: endpoints, rack: rack, clusterId: clusterId,
            sessionTimeoutMs: sessionTimeoutMs, credentials: credentials, tls: tls, secureAcls: secureAcls, client: client,
            logger: logger)
        do {
            try await registration.begin(topics)
        } catch {
            await client.close()
            throw error
        }
        return registration
    }

    private func begin(_ initial: [Topic]) async throws(KafkaRegistrationError) {
        for topic in initial { topics[topic.name] = topic }
        try await register()
        supervisor = Task { await self.supervise() }
        changeWorker = Task { await self.applyQueuedChanges() }
        let session = await client.sessionID
        logger.info("registered in ZooKeeper", metadata: [
            "connect": "\(connect)", "brokerId": "\(brokerId)", "session": "\(session)",
        ])
    }

    /// The ACL of a znode this broker creates.
    private func acl(_ path: String) -> [ACL] { KafkaZNodes.defaultACLs(secure: secureAcls, path: path) }

    /// ``acl(_:)`` for the client's recursive creates.
    private var aclFor: @Sendable (String) -> [ACL] {
        let secure = secureAcls
        return { KafkaZNodes.defaultACLs(secure: secure, path: $0) }
    }

    /// The current session (changes after an expiry and re-registration).
    public var sessionID: SessionID {
        get async { await client.sessionID }
    }

    // MARK: - Topics

    /// Registers a new topic (or a changed partition count). Failures are logged and retried after the next
    /// reconnection, so the broker never waits on ZooKeeper for long.
    public func topicCreated(name: String, id: String, partitions: Int32) async {
        topics[name] = Topic(name: name, id: id, partitions: partitions)
        await sync(name)
    }

    /// Removes a deleted topic's znodes (assignment, partition states, config).
    public func topicDeleted(name: String) async {
        topics[name] = nil
        await sync(name)
    }

    /// ``topicCreated(name:id:partitions:)`` for synchronous callers (the broker's topic operations run on worker
    /// threads): returns at once; queued changes are applied one at a time, in the order they were queued.
    public nonisolated func enqueueTopicCreated(name: String, id: String, partitions: Int32) {
        queuedChanges.yield(.created(Topic(name: name, id: id, partitions: partitions)))
    }

    /// ``topicDeleted(name:)`` for synchronous callers; see ``enqueueTopicCreated(name:id:partitions:)``.
    public nonisolated func enqueueTopicDeleted(name: String) {
        queuedChanges.yield(.deleted(name))
    }

    private func applyQueuedChanges() async {
        for await change in changes {
            switch change {
            case .created(let topic): await topicCreated(name: topic.name, id: topic.id, partitions: topic.partitions)
            case .deleted(let name): await topicDeleted(name: name)
            }
        }
    }

    private func sync(_ name: String) async {
        guard !stopped else { return }
        do {
            if let topic = topics[name] {
                try await registerTopic(topic)
            } else {
                try await client.deleteRecursively(KafkaZNodes.topic(name))
                try await client.deleteRecursively(KafkaZNodes.topicConfig(name))
            }
            unsynced.remove(name)
        } catch {
            unsynced.insert(name)
            logger.warning("could not update the topic in ZooKeeper; will retry", metadata: ["topic": "\(name)", "error": "\(error)"])
        }
    }

    private func registerTopic(_ topic: Topic) async throws(ZooKeeperClientError) {
        let assignment = Array(KafkaZNodes.topicAssignment(partitions: topic.partitions, brokerId: brokerId, topicId: topic.id).utf8)
        let state = Array(KafkaZNodes.partitionStateInfo(brokerId: brokerId, controllerEpoch: controllerEpoch).utf8)
        let partitions = 0..<max(topic.partitions, 0)
        // A new topic: everything in one transaction (one round trip, and no half-registered topic).
        var creates: [ZooKeeperClient.Operation] = [
            .create(path: KafkaZNodes.topic(topic.name), data: assignment, mode: .persistent, acl: acl(KafkaZNodes.topic(topic.name))),
            .create(path: KafkaZNodes.partitions(topic.name), data: [], mode: .persistent, acl: acl(KafkaZNodes.partitions(topic.name))),
        ]
        for p in partitions {
            let partition = KafkaZNodes.partition(topic.name, p)
            let statePath = KafkaZNodes.partitionState(topic.name, p)
            creates.append(.create(path: partition, data: [], mode: .persistent, acl: acl(partition)))
            creates.append(.create(path: statePath, data: state, mode: .persistent, acl: acl(statePath)))
        }
        do {
            try await client.multi(creates)
        } catch .keeper(.nodeExists, _) {
            // Already registered (a restart, or more partitions): bring it up to date piece by piece.
            try await client.setData(KafkaZNodes.topic(topic.name), data: assignment)
            try await client.ensurePath(KafkaZNodes.partitions(topic.name), aclFor: aclFor)
            for p in partitions {
                try await client.ensurePath(KafkaZNodes.partition(topic.name, p), aclFor: aclFor)
                try await createOrSet(KafkaZNodes.partitionState(topic.name, p), data: state)
            }
        }
        do {
            let config = KafkaZNodes.topicConfig(topic.name)
            try await client.create(config, data: Array(KafkaZNodes.emptyTopicConfig.utf8), acl: acl(config))
        } catch .keeper(.nodeExists, _) {
            // Keep existing overrides.
        }
    }

    private func createOrSet(_ path: String, data: [UInt8]) async throws(ZooKeeperClientError) {
        do {
            try await client.create(path, data: data, acl: acl(path))
        } catch .keeper(.nodeExists, _) {
            try await client.setData(path, data: data)
        }
    }

    // MARK: - Registration

    /// Everything, in Kafka's order; each step is idempotent, so it is safe to repeat after a failure.
    private func register() async throws(KafkaRegistrationError) {
        do {
            try await client.ensureChroot(aclFor: aclFor)
            for path in KafkaZNodes.persistentPaths { try await client.ensurePath(path, aclFor: aclFor) }
        } catch {
            throw .zooKeeper(error)
        }
        try await checkClusterId()
        try await registerBroker()
        try await electController()
        do {
            for name in topics.keys.sorted() { try await registerTopic(topics[name]!) }
            // Deletions that could not reach ZooKeeper before (the topics registered just now are in sync).
            for name in unsynced.sorted() where topics[name] == nil {
                try await client.deleteRecursively(KafkaZNodes.topic(name))
                try await client.deleteRecursively(KafkaZNodes.topicConfig(name))
            }
        } catch {
            throw .zooKeeper(error)
        }
        unsynced.removeAll()
    }

    /// The id in `/cluster/id`, or nil if there is none yet.
    private func registeredClusterId() async throws(ZooKeeperClientError) -> String? {
        do {
            let (data, _) = try await client.getData(KafkaZNodes.clusterId)
            return JSONText.field("id", in: String(decoding: data, as: UTF8.self)) ?? ""
        } catch .keeper(.noNode, _) {
            return nil
        }
    }

    private func checkClusterId() async throws(KafkaRegistrationError) {
        while true {
            let registered: String?
            do {
                registered = try await registeredClusterId()
            } catch {
                throw .zooKeeper(error)
            }
            if let registered {
                guard registered == clusterId else { throw .clusterIdMismatch(ours: clusterId, registered: registered) }
                return
            }
            do {
                try await client.ensurePath("/cluster", aclFor: aclFor)
                try await client.create(
                    KafkaZNodes.clusterId, data: Array(KafkaZNodes.clusterIdInfo(clusterId).utf8), acl: acl(KafkaZNodes.clusterId))
                return
            } catch .keeper(.nodeExists, _) {
                continue  // another broker won the race: compare with its id
            } catch {
                throw .zooKeeper(error)
            }
        }
    }

    /// Outcome of one attempt to create the broker's ephemeral node.
    private enum BrokerNodeAttempt {
        case created
        case heldBy(SessionID)
    }

    private func tryCreateBrokerNode(_ path: String, _ document: [UInt8]) async throws(ZooKeeperClientError) -> BrokerNodeAttempt {
        do {
            try await client.create(path, data: document, mode: .ephemeral, acl: acl(path))
            return .created
        } catch .keeper(.nodeExists, _) {
            guard let stat = try await client.exists(path) else { return try await tryCreateBrokerNode(path, document) }
            if stat.ephemeralOwner == (await client.sessionID) {
                try await client.setData(path, data: document)
                return .created
            }
            return .heldBy(stat.ephemeralOwner)
        }
    }

    private func registerBroker() async throws(KafkaRegistrationError) {
        let path = KafkaZNodes.broker(brokerId)
        let document = Array(KafkaZNodes.brokerInfo(endpoints: endpoints, rack: rack, timestampMs: Self.nowMs()).utf8)
        let deadline = ContinuousClock.now + .milliseconds(Int(2 * sessionTimeoutMs) + 5000)
        var warned = false
        while true {
            let attempt: BrokerNodeAttempt
            do {
                attempt = try await tryCreateBrokerNode(path, document)
            } catch {
                throw .zooKeeper(error)
            }
            guard case .heldBy(let owner) = attempt else { return }
            // Usually this broker's previous run, whose session has not expired yet.
            guard ContinuousClock.now < deadline else { throw .brokerIdInUse(brokerId: brokerId, owner: owner) }
            if !warned {
                warned = true
                logger.warning("broker id is still registered by another session; waiting for it to expire", metadata: [
                    "path": "\(path)", "owner": "\(owner)",
                ])
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Becomes controller if nobody is (Kafka's `registerControllerAndIncrementControllerEpoch`); otherwise watches
    /// `/controller` to try again when it goes away.
    private func electController() async throws(KafkaRegistrationError) {
        do {
            try await runForController()
        } catch {
            throw .zooKeeper(error)
        }
    }

    private func runForController() async throws(ZooKeeperClientError) {
        while true {
            let epochData: [UInt8]
            let epochVersion: Int32
            do {
                (epochData, epochVersion) = try await { () async throws(ZooKeeperClientError) in
                    let (data, stat) = try await client.getData(KafkaZNodes.controllerEpoch)
                    return (data, stat.version)
                }()
            } catch .keeper(.noNode, _) {
                do {
                    try await client.create(KafkaZNodes.controllerEpoch, data: Array("0".utf8), acl: acl(KafkaZNodes.controllerEpoch))
                } catch .keeper(.nodeExists, _) {}
                continue
            }
            let current = Int32(String(decoding: epochData, as: UTF8.self)) ?? 0
            let document = Array(KafkaZNodes.controllerInfo(brokerId: brokerId, timestampMs: Self.nowMs()).utf8)
            do {
                try await client.multi([
                    .create(path: KafkaZNodes.controller, data: document, mode: .ephemeral, acl: acl(KafkaZNodes.controller)),
                    .setData(path: KafkaZNodes.controllerEpoch, data: Array(String(current + 1).utf8), version: epochVersion),
                ])
                controllerEpoch = current + 1
                logger.info("became controller", metadata: ["epoch": "\(controllerEpoch)"])
                return
            } catch .keeper(.badVersion, _) {
                continue  // another broker bumped the epoch meanwhile
            } catch .keeper(.nodeExists, _) {
                // Someone is controller (maybe this session, before a reconnect). Watch it either way.
                if let stat = try await client.exists(KafkaZNodes.controller, watch: true) {
                    controllerEpoch = current
                    if stat.ephemeralOwner != (await client.sessionID) {
                        logger.info("another broker is controller; watching /controller")
                    }
                    return
                }
            }
        }
    }

    // MARK: - Supervision

    /// Follows the session: re-registers after an expiry, retries topics after a reconnection, and runs for
    /// controller when `/controller` goes away.
    private func supervise() async {
        while !stopped {
            for await event in client.events {
                guard !stopped else { return }
                switch event {
                case .connected:
                    for name in unsynced.sorted() { await sync(name) }
                case .watch(.nodeDeleted, KafkaZNodes.controller):
                    do { try await electController() } catch {
                        logger.warning("controller election failed", metadata: ["error": "\(error)"])
                    }
                case .watch(_, KafkaZNodes.controller):
                    _ = try? await client.exists(KafkaZNodes.controller, watch: true)
                default:
                    break
                }
            }
            guard !stopped else { return }
            // The event stream ended: the session expired. Start over with a new session.
            logger.warning("ZooKeeper session expired; registering again", metadata: ["brokerId": "\(brokerId)"])
            await reRegister()
        }
    }

    private func reRegister() async {
        var delay = 200
        while !stopped {
            do {
                client = try await ZooKeeperClient.connect(
                    to: connect, sessionTimeoutMs: sessionTimeoutMs, credentials: credentials.map { [$0] } ?? [], tls: tls,
                    logger: logger)
                try await register()
                let session = await client.sessionID
                logger.info("registered in ZooKeeper again", metadata: ["session": "\(session)"])
                return
            } catch {
                logger.warning("re-registration failed; retrying", metadata: ["error": "\(error)"])
                await client.close()
                try? await Task.sleep(for: .milliseconds(delay))
                delay = min(delay * 2, 5000)
            }
        }
    }

    /// Deregisters: closes the session, so `/brokers/ids/<id>` and `/controller` vanish at once.
    /// Topic changes queued before are applied first.
    public func stop() async {
        guard !stopped else { return }
        queuedChanges.finish()
        await changeWorker?.value
        stopped = true
        supervisor?.cancel()
        await client.close()
        logger.info("deregistered from ZooKeeper", metadata: ["brokerId": "\(brokerId)"])
    }

    /// For tests: drop the connection without closing the session, as a crashed broker would.
    func simulateCrash() async {
        queuedChanges.finish()
        stopped = true
        supervisor?.cancel()
        await client.abandon()
    }

    /// For tests: the client in use.
    var currentClient: ZooKeeperClient { client }

    private static func nowMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
