import KafkaProtocol
import NIOCore
import NIOPosix
import Synchronization
import Timekeeping

/// A partition as the cluster describes it.
public struct PartitionInfo: Sendable, Equatable {
    public var partition: Int32
    public var leader: Int32
    public var leaderEpoch: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
    public var error: ErrorCode
}

/// A topic as the cluster describes it.
public struct TopicInfo: Sendable, Equatable {
    public var name: String
    public var id: KafkaUUID
    public var error: ErrorCode
    public var isInternal: Bool
    public var partitions: [PartitionInfo]
}

/// A snapshot of the cluster: brokers, controller and the topics asked about.
public struct ClusterMetadata: Sendable {
    public var clusterId: String?
    public var controllerId: Int32
    public var brokers: [Int32: BrokerAddress]
    public var topics: [String: TopicInfo]
}

/// How long a client waits before connecting again to a broker it failed to reach: `reconnect.backoff.ms`, doubling
/// per consecutive failure up to `reconnect.backoff.max.ms`, with ±20 % jitter so that many clients of a restarted
/// broker do not all come back in the same millisecond (Kafka's defaults and rules).
public struct ReconnectBackoff: Sendable, Equatable {
    public var initialMs: Int64 = 50
    public var maxMs: Int64 = 1000

    public init(initialMs: Int64 = 50, maxMs: Int64 = 1000) {
        self.initialMs = initialMs
        self.maxMs = max(maxMs, initialMs)
    }

    /// The wait after `failures` consecutive failed attempts (none after none); `jitter` is in [-1, 1].
    public func delayMs(afterFailures failures: Int, jitter: Double) -> Int64 {
        guard failures > 0, initialMs > 0 else { return 0 }
        let exponential = Double(initialMs) * Double(1 << min(failures - 1, 20))
        let capped = min(exponential, Double(maxMs))
        return Int64(capped * (1 + 0.2 * max(-1, min(1, jitter))))
    }
}

/// The cluster as seen by a client: bootstrap, one connection per broker, metadata and leader routing.
///
/// Works against any Kafka-compatible cluster, ledgerstream's broker or Apache Kafka's, which is how a user who
/// outgrows one machine moves to a cluster without changing tools. Bootstrap servers are only used to find the
/// cluster; requests then go to brokers by node id at their advertised addresses, as every Kafka client does.
///
/// Losing a broker is not the end: once the client has reached the cluster, a connection that cannot be opened
/// again is a retriable ``KafkaClientError/disconnected(broker:reason:)``, and each further attempt to that address
/// waits out its ``ReconnectBackoff``. Only a cluster that was never reached fails at once, as ``KafkaClientError/unreachable(servers:reason:)``
/// (a command pointed at the wrong address should say so, not hang).
public actor KafkaClient {
    public let bootstrap: [BrokerAddress]
    public let clientId: String
    public let security: ClientSecurity
    public let reconnectBackoff: ReconnectBackoff
    /// The clocks the client, and its producers and consumers, read and wait on (linger, backoff, timeouts).
    public nonisolated let time: any TimeSource
    public let group: any EventLoopGroup
    private let ownsGroup: Bool
    private var connections: [Int32: BrokerConnection] = [:]
    private var pendingConnections: [Int32: Task<BrokerConnection, any Error>] = [:]
    private var bootstrapConnection: BrokerConnection?
    /// Whether any connection ever succeeded: from then on, failing to connect is a retriable disconnection.
    private var reachedCluster = false
    /// Consecutive failed connection attempts per address, and when the next attempt may start.
    private var connectFailures: [BrokerAddress: (count: Int, retryAtNs: UInt64)] = [:]
    public private(set) var metadata = ClusterMetadata(clusterId: nil, controllerId: -1, brokers: [:], topics: [:])
    /// The topic part of `metadata`, readable without awaiting the actor (consumers route fetches with it).
    nonisolated let snapshot = Mutex<[String: TopicInfo]>([:])
    private var isClosed = false
    /// Connections being opened right now, and `close()` calls waiting for them: the event loops may only shut down
    /// once no connect is in flight, or NIO would be asked to schedule on a loop that is gone.
    private var opening = 0
    private var openingDrained: [CheckedContinuation<Void, Never>] = []

    /// Environment variable that sets the bootstrap servers when no option does.
    public static let bootstrapEnvironmentVariable = "LEDGERSTREAM_BOOTSTRAP_SERVERS"

    public init(bootstrap: [BrokerAddress], clientId: String = "ledgerstream", security: ClientSecurity = .plaintext,
                reconnectBackoff: ReconnectBackoff = ReconnectBackoff(), time: any TimeSource = SystemTimeSource(),
                group: (any EventLoopGroup)? = nil) {
        self.bootstrap = bootstrap
        self.clientId = clientId
        self.security = security
        self.reconnectBackoff = reconnectBackoff
        self.time = time
        if let group {
            self.group = group
            ownsGroup = false
        } else {
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            ownsGroup = true
        }
    }

    public func close() async {
        isClosed = true
        for task in pendingConnections.values { task.cancel() }
        while opening > 0 { await withCheckedContinuation { openingDrained.append($0) } }
        for connection in connections.values { await connection.closeAndWait() }
        await bootstrapConnection?.closeAndWait()
        connections = [:]
        bootstrapConnection = nil
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    // MARK: Connections

    /// A connection to some live broker: one already open, else the first bootstrap server that answers.
    public func anyConnection() async throws -> BrokerConnection {
        if isClosed { throw KafkaClientError.closed }
        if let live = connections.values.first(where: \.isActive) { return live }
        if let bootstrapConnection, bootstrapConnection.isActive { return bootstrapConnection }
        var reasons: [String] = []
        for address in bootstrap {
            do {
                let connection = try await open(address)
                bootstrapConnection = connection
                return connection
            } catch KafkaClientError.unreachable(_, let reason) {
                reasons.append(reason)
            } catch KafkaClientError.disconnected(_, let reason) {
                reasons.append(reason)
            } catch let error as KafkaClientError {
                // Refused credentials or certificates are not a reachability problem: say so at once.
                if case .authenticationFailed = error { throw error }
                if case .tlsFailed = error { throw error }
                reasons.append("\(error)")
            } catch {
                reasons.append("\(error)")
            }
        }
        // One server: "(connection refused)"; several: each address with its reason.
        let reason = bootstrap.count == 1
            ? reasons.joined()
            : zip(bootstrap, reasons).map { "\($0): \($1)" }.joined(separator: "; ")
        if reachedCluster {
            throw KafkaClientError.disconnected(broker: bootstrap.map(\.description).joined(separator: ","), reason: reason)
        }
        throw KafkaClientError.unreachable(servers: bootstrap.map(\.description), reason: reason)
    }

    /// Opens a connection to `address` once its reconnect backoff has passed, and keeps the backoff's count: reset by
    /// a success, raised by a failure.
    private func open(_ address: BrokerAddress) async throws -> BrokerConnection {
        if let failures = connectFailures[address] {
            let now = time.monotonicNanos()
            if failures.retryAtNs > now { try await time.sleep(nanoseconds: failures.retryAtNs - now) }
        }
        if isClosed { throw KafkaClientError.closed }
        opening += 1
        defer {
            opening -= 1
            if opening == 0 {
                for waiter in openingDrained { waiter.resume() }
                openingDrained = []
            }
        }
        do {
            let connection = try await BrokerConnection.connect(to: address, group: group, clientId: clientId, security: security)
            if isClosed {
                // `close()` ran while this connect was in flight: nobody will use or close this connection.
                await connection.closeAndWait()
                throw KafkaClientError.closed
            }
            connectFailures[address] = nil
            reachedCluster = true
            return connection
        } catch KafkaClientError.unreachable(let servers, let reason) {
            let count = (connectFailures[address]?.count ?? 0) + 1
            let delay = reconnectBackoff.delayMs(afterFailures: count, jitter: Double.random(in: -1...1))
            connectFailures[address] = (count, time.monotonicNanos() + UInt64(delay) * 1_000_000)
            if reachedCluster { throw KafkaClientError.disconnected(broker: address.description, reason: reason) }
            throw KafkaClientError.unreachable(servers: servers, reason: reason)
        }
    }

    /// The connection to broker `node`, opened on first use at its advertised address.
    public func connection(toNode node: Int32) async throws -> BrokerConnection {
        if isClosed { throw KafkaClientError.closed }
        if let existing = connections[node], existing.isActive { return existing }
        if let pending = pendingConnections[node] { return try await pending.value }
        if metadata.brokers[node] == nil { _ = try await refreshMetadata(topics: []) }
        guard let address = metadata.brokers[node] else {
            throw KafkaClientError.invalidArgument("broker \(node) is not in the cluster metadata")
        }
        let task = Task { try await self.open(address) }
        pendingConnections[node] = task
        defer { pendingConnections[node] = nil }
        let connection = try await task.value
        connections[node] = connection
        return connection
    }

    /// Drops a connection that failed so the next use reconnects.
    public func discard(node: Int32) {
        connections.removeValue(forKey: node)?.close()
    }

    // MARK: Metadata

    /// Fetches metadata. `topics` nil means every topic; an empty list means brokers only.
    @discardableResult
    public func refreshMetadata(topics: [String]?, allowAutoCreate: Bool = false) async throws -> ClusterMetadata {
        let connection = try await anyConnection()
        let version = try connection.version(for: MetadataRequest.self)
        var request = MetadataRequest(topics: topics?.map { .init(topicId: .zero, name: $0) }, allowAutoTopicCreation: allowAutoCreate)
        if version == 0 && topics?.isEmpty == true { request.topics = [] }  // v0 cannot ask for "no topics"
        let response = try await connection.send(request, version: version)
        var brokers: [Int32: BrokerAddress] = [:]
        for broker in response.brokers { brokers[broker.nodeId] = BrokerAddress(host: broker.host, port: Int(broker.port)) }
        var fresh = metadata
        fresh.clusterId = response.clusterId
        fresh.controllerId = response.controllerId
        fresh.brokers = brokers
        if topics == nil { fresh.topics = [:] }
        for topic in response.topics {
            guard let name = topic.name else { continue }
            fresh.topics[name] = TopicInfo(
                name: name, id: topic.topicId, error: ErrorCode(rawValue: topic.errorCode), isInternal: topic.isInternal,
                partitions: topic.partitions.map {
                    PartitionInfo(partition: $0.partitionIndex, leader: $0.leaderId, leaderEpoch: $0.leaderEpoch,
                                  replicas: $0.replicaNodes, isr: $0.isrNodes, error: ErrorCode(rawValue: $0.errorCode))
                }.sorted { $0.partition < $1.partition })
        }
        metadata = fresh
        snapshot.withLock { $0 = fresh.topics }
        return fresh
    }

    /// The topic's metadata, retrying while the cluster reports transient states (a topic just auto-created,
    /// a leader being elected).
    public func topic(_ name: String, allowAutoCreate: Bool = false) async throws -> TopicInfo {
        // A missing topic is final unless it is being auto-created; other transient states are retried.
        try await Retry.run(retryIf: { error in
            if case .broker(.unknownTopicOrPartition, _) = error { return allowAutoCreate }
            return error.isRetriable
        }) { [self] in
            let metadata = try await refreshMetadata(topics: [name], allowAutoCreate: allowAutoCreate)
            guard let topic = metadata.topics[name] else {
                throw KafkaClientError.broker(.unknownTopicOrPartition, message: "topic \(name) does not exist")
            }
            if topic.error != .none {
                throw KafkaClientError.broker(topic.error, message: "topic \(name): \(topic.error)")
            }
            if let bad = topic.partitions.first(where: { $0.error != .none || $0.leader < 0 }) {
                throw KafkaClientError.broker(bad.error == .none ? .leaderNotAvailable : bad.error,
                                              message: "partition \(bad.partition) of \(name) has no leader yet")
            }
            return topic
        }
    }

    /// The leader of a partition from the cached metadata, refreshing once if unknown.
    public func leader(topic: String, partition: Int32) async throws -> Int32 {
        if let leader = metadata.topics[topic]?.partitions.first(where: { $0.partition == partition })?.leader, leader >= 0 {
            return leader
        }
        let info = try await self.topic(topic)
        guard let found = info.partitions.first(where: { $0.partition == partition }) else {
            throw KafkaClientError.invalidArgument("topic \(topic) has no partition \(partition) (it has \(info.partitions.count))")
        }
        return found.leader
    }

    /// A connection to the cluster's controller (where admin requests go), or any broker if none is named.
    public func controllerConnection() async throws -> BrokerConnection {
        if metadata.controllerId < 0 { try await refreshMetadata(topics: []) }
        if metadata.controllerId >= 0 { return try await connection(toNode: metadata.controllerId) }
        return try await anyConnection()
    }

    /// Which kind of coordinator FindCoordinator looks for.
    public enum CoordinatorKind: Int8, Sendable {
        case group = 0
        case transaction = 1
    }

    /// The node id of the broker coordinating `group` (FindCoordinator, retried while the coordinator loads).
    public func findCoordinator(forGroup group: String) async throws -> Int32 {
        try await findCoordinator(key: group, kind: .group)
    }

    /// The node id of the broker coordinating a group or a transactional id.
    public func findCoordinator(key: String, kind: CoordinatorKind) async throws -> Int32 {
        let connection = try await anyConnection()
        let version = try connection.version(for: FindCoordinatorRequest.self)
        if kind == .transaction && version < 1 { throw KafkaClientError.unsupportedApi(.findCoordinator) }
        let request = version >= 4
            ? FindCoordinatorRequest(keyType: kind.rawValue, coordinatorKeys: [key])
            : FindCoordinatorRequest(key: key, keyType: kind.rawValue)
        let what = kind == .group ? "group" : "transactional id"
        let response = try await Retry.run {
            let response = try await connection.send(request, version: version)
            let error = ErrorCode(rawValue: version >= 4 ? response.coordinators.first?.errorCode ?? -1 : response.errorCode)
            if error != .none { throw KafkaClientError.broker(error, message: "finding the coordinator of \(what) \(key)") }
            return response
        }
        let node = version >= 4 ? response.coordinators[0].nodeId : response.nodeId
        if metadata.brokers[node] == nil {
            let host = version >= 4 ? response.coordinators[0].host : response.host
            let port = version >= 4 ? response.coordinators[0].port : response.port
            metadata.brokers[node] = BrokerAddress(host: host, port: Int(port))
        }
        return node
    }

    /// A shared connection to the broker coordinating `group` (for admin requests).
    public func coordinator(forGroup group: String) async throws -> BrokerConnection {
        try await connection(toNode: try await findCoordinator(forGroup: group))
    }

    /// A new connection to `node` that the caller owns and closes. Consumers use one for their group coordinator, as
    /// librdkafka does: a JoinGroup may be parked for seconds, and responses come back in order, so sharing the
    /// connection would hold up fetches and heartbeats behind it.
    public func dedicatedConnection(toNode node: Int32) async throws -> BrokerConnection {
        if metadata.brokers[node] == nil { _ = try await refreshMetadata(topics: []) }
        guard let address = metadata.brokers[node] else {
            throw KafkaClientError.invalidArgument("broker \(node) is not in the cluster metadata")
        }
        return try await open(address)
    }
}

/// Retries an operation on retriable errors with exponential backoff (100 ms doubling up to 1 s, Kafka's
/// retry.backoff.ms and retry.backoff.max.ms): at most `attempts` tries, or, with `forMs`, as many as fit in that
/// many milliseconds (a client API's own timeout, such as max.block.ms or default.api.timeout.ms).
public enum Retry {
    public static func run<T: Sendable>(
        attempts: Int = 8, forMs: Int64? = nil, initialBackoffMs: Int64 = 100, time: any TimeSource = SystemTimeSource(),
        retryIf shouldRetry: @Sendable (KafkaClientError) -> Bool = { $0.isRetriable },
        _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let deadline = forMs.map { time.monotonicNanos() + UInt64(max($0, 0)) * 1_000_000 }
        var backoff = initialBackoffMs
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as KafkaClientError where shouldRetry(error) {
                if let deadline {
                    if time.monotonicNanos() + UInt64(backoff) * 1_000_000 > deadline { throw error }
                } else if attempt >= attempts {
                    throw error
                }
                try await time.sleep(milliseconds: backoff)
                backoff = min(backoff * 2, 1000)
                attempt += 1
            }
        }
    }
}

