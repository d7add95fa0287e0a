import JavaProperties
import KafkaSecurity
import LogStorage

/// A `NAME://host:port` listener address. An empty host (`PLAINTEXT://:9092`) means every interface. The name is a
/// security protocol (`SSL://…`) or any name that `listener.security.protocol.map` maps to one (`CLIENT://…`).
public struct Listener: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var host: String
    public var port: Int

    public init(name: String = "PLAINTEXT", host: String, port: Int) {
        self.name = name
        self.host = host
        self.port = port
    }

    /// Parses `NAME://host:port` (IPv6 hosts in brackets).
    public init(parsing text: String) throws(BrokerConfigError) {
        let trimmed = text.trimmingSpaces()
        // A Character search, not `split(separator: "://")`: a String separator goes through _StringProcessing's
        // generic searchers, whose type metadata every broker start would instantiate for this one line.
        guard let nameEnd = trimmed.firstIndex(of: ":"), trimmed[nameEnd...].hasPrefix("://") else {
            throw .invalid(key: "listeners", value: text, reason: "expected NAME://host:port, e.g. PLAINTEXT://127.0.0.1:9092")
        }
        name = String(trimmed[..<nameEnd]).uppercased()
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw .invalid(key: "listeners", value: text, reason: "a listener name is letters, digits and '_' (PLAINTEXT, SSL, SASL_SSL, CLIENT…)")
        }
        let address = trimmed[trimmed.index(nameEnd, offsetBy: 3)...]
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port)
        else { throw .invalid(key: "listeners", value: text, reason: "expected a port number 0-65535") }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        self.port = port
    }

    public var description: String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "\(name)://\(shown):\(port)"
    }
}

/// Why a broker setting was refused; names the key and what is expected.
public enum BrokerConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(key: String, value: String, reason: String)
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let key, let value, let reason): return "invalid value '\(value)' for \(key): \(reason)"
        case .unreadableFile(let path, let reason): return "cannot read \(path): \(reason)"
        }
    }
}

/// The broker's settings, under Apache Kafka's property names (`server.properties`), with Kafka's defaults except
/// where a single local node needs another (listener on 127.0.0.1, data under the current directory).
public struct BrokerConfig: Sendable, Equatable {
    public var nodeId: Int32 = 1
    public var listeners: [Listener] = [Listener(host: "127.0.0.1", port: 9092)]
    /// What clients are told to connect to; defaults to the listeners (with the bound port when it was 0).
    public var advertisedListeners: [Listener]?
    public var logDirs: [String] = ["ledgerstream-data"]
    public var numPartitions: Int32 = 1
    public var defaultReplicationFactor: Int16 = 1
    public var autoCreateTopics = true
    public var deleteTopicEnable = true
    /// Defaults for every topic's log (Kafka's `log.*` settings), overridable per topic.
    public var logDefaults = LogConfig()
    /// The log cleaner's settings (Kafka's `log.cleaner.*` broker properties that are not topic defaults).
    public var cleaner = LogCleanerConfig()
    public var socketRequestMaxBytes = 104_857_600
    public var logRetentionCheckIntervalMs: Int64 = 300_000
    public var logFlushSchedulerIntervalMs: Int64 = 60_000
    public var logFlushOffsetCheckpointIntervalMs: Int64 = 60_000
    /// Disk the active segments may hold reserved past their ends, all together (`log.reservation.budget.bytes`,
    /// ledgerstream's own; 0: no reservation); nil: ``ReservationBudget/defaultLimit(usableBytes:)`` of the log
    /// directory's free space at start.
    public var logReservationBudgetBytes: Int?
    public var groupInitialRebalanceDelayMs: Int64 = 3000
    public var groupMinSessionTimeoutMs: Int32 = 6000
    public var groupMaxSessionTimeoutMs: Int32 = 1_800_000
    public var offsetMetadataMaxBytes = 4096
    /// KIP-848 consumer groups (`group.coordinator.rebalance.protocols`, `group.consumer.*`).
    public var consumerGroups = ConsumerGroupSettings()
    public var producerIdExpirationMs: Int64 = 86_400_000
    /// Incremental fetch sessions kept at most (KIP-227); 0 disables them (every fetch is answered in full).
    public var maxIncrementalFetchSessionCacheSlots = 1000
    /// A session unused this long may be evicted to make room; one created this long ago may lose its slot to a larger one.
    public var minIncrementalFetchSessionEvictionMs: Int64 = 120_000
    /// The longest transaction.timeout.ms a transactional producer may ask for (InitProducerId refuses longer ones).
    public var transactionMaxTimeoutMs: Int32 = 900_000
    /// How long a transactional id with no open transaction is remembered.
    public var transactionalIdExpirationMs: Int64 = 604_800_000
    /// Threads that run requests (Kafka's num.io.threads); the event loops only move bytes.
    public var ioThreads = 4
    /// Event loop threads (Kafka's num.network.threads); 0 = one per core.
    public var networkThreads = 0
    /// `host:port[,host:port…][/chroot]` of a ZooKeeper ensemble to register in, if any.
    public var zookeeperConnect: String?
    public var zookeeperSessionTimeoutMs: Int32 = 18_000
    /// Kafka's `zookeeper.set.acl`: the broker's znodes are created owned by its ZooKeeper identity.
    public var zookeeperSetAcl = false
    /// The JAAS file whose `Client` section (or `zookeeper.sasl.clientconfig`) holds the broker's ZooKeeper SASL
    /// login (Kafka takes it as the JVM flag `-Djava.security.auth.login.config`).
    public var jaasConfigPath: String?
    public var zookeeperSaslClient = true
    public var zookeeperSaslClientConfig = "Client"
    /// TLS to ZooKeeper (`zookeeper.ssl.client.enable` and PEM `zookeeper.ssl.*` files).
    public var zookeeperTLSEnabled = false
    public var zookeeperTrustStore: String?
    public var zookeeperKeyStore: String?
    public var zookeeperVerifyHostname = true
    /// Listener name → security protocol (`listener.security.protocol.map`); every protocol maps to itself by default.
    public var listenerSecurityProtocolMap: [String: SecurityProtocol] = Dictionary(
        uniqueKeysWithValues: SecurityProtocol.allCases.map { ($0.rawValue, $0) })
    /// `ssl.*`, `sasl.*` and `listener.name.*` properties as given; ``securitySetting(_:listener:)`` resolves them
    /// per listener, as Kafka does (`listener.name.<name>.<key>` first, then `<key>`).
    public var securityProperties: [String: String] = [:]
    /// KIP-368: a SASL session must re-authenticate after this long (0 = never).
    public var connectionsMaxReauthMs: Int64 = 0
    /// Delay before a failed authentication is answered and the connection closed (slows password guessing).
    public var connectionFailedAuthenticationDelayMs: Int64 = 100
    /// Kafka's connections.max.idle.ms: a connection with nothing read or written for this long is closed.
    public var connectionsMaxIdleMs: Int64 = 600_000
    /// Kafka's max.connections: client connections beyond it are closed as they arrive (the file-descriptor limit
    /// sets a lower ceiling, see ``ConnectionLimiter``).
    public var maxConnections = Int(Int32.max)
    /// Kafka's max.connections.per.ip and max.connections.per.ip.overrides (`host:count,…`).
    public var maxConnectionsPerIP = Int(Int32.max)
    public var maxConnectionsPerIPOverrides: [String: Int] = [:]
    /// A client on a TLS or SASL listener must finish its handshake and authentication within this long
    /// (the smaller of 30 s and connections.max.idle.ms).
    public var authenticationTimeoutMs: Int64 { min(30_000, connectionsMaxIdleMs) }
    /// Largest frame accepted before a SASL client has authenticated (garbage cannot make the broker allocate).
    public var saslServerMaxReceiveSize = 524_288
    /// ACLs are enforced when `authorizer.class.name` names Kafka's AclAuthorizer or StandardAuthorizer.
    public var authorizerEnabled = false
    public var superUsers: Set<String> = []
    public var allowEveryoneIfNoAclFound = false
    /// Keys given that ledgerstream does not use (reported once at startup, as Kafka does).
    /// ledgerstream's own: where to serve Prometheus metrics, /healthz and /readyz (`http://HOST:PORT`); off when
    /// nil. Checked by the server, which owns the HTTP endpoint (`BrokerConfig.operationsListener()` in KafkaServer).
    public var metricsListener: String?
    public var unknownKeys: [String] = []
    /// Broker keys explicitly set (DescribeConfigs reports them as STATIC_BROKER_CONFIG).
    public var explicitKeys: Set<String> = []

    public init() {}

    /// The directory holding logs and metadata (Kafka accepts several log.dirs; ledgerstream uses the first).
    public var dataDirectory: String { logDirs[0] }

    /// Applies properties in Kafka's names. Unknown keys are collected in `unknownKeys`, not rejected.
    public mutating func apply(_ properties: JavaProperties) throws(BrokerConfigError) {
        for (key, value) in properties.entries {
            try apply(key: key, value: value)
        }
    }

    public mutating func apply(key: String, value rawValue: String) throws(BrokerConfigError) {
        let value = rawValue.trimmingSpaces()
        func int<T: FixedWidthInteger>(_: T.Type, _ range: ClosedRange<T> = T.min...T.max) throws(BrokerConfigError) -> T {
            guard let number = T(value), range.contains(number) else {
                throw .invalid(key: key, value: value, reason: "expected an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        func bool() throws(BrokerConfigError) -> Bool {
            switch value.lowercased() {
            case "true": return true
            case "false": return false
            default: throw .invalid(key: key, value: value, reason: "expected true or false")
            }
        }
        explicitKeys.insert(key)
        switch key {
        case "node.id", "broker.id": nodeId = try int(Int32.self, 0...Int32.max)
        case "listeners": listeners = try Self.parseListeners(value, key: key)
        case "advertised.listeners": advertisedListeners = try Self.parseListeners(value, key: key)
        case "log.dirs", "log.dir":
            let dirs = value.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
            guard !dirs.isEmpty else { throw .invalid(key: key, value: value, reason: "expected a directory") }
            logDirs = dirs
        case "num.partitions": numPartitions = try int(Int32.self, 1...Int32.max)
        case "default.replication.factor":
            defaultReplicationFactor = try int(Int16.self, 1...1)
        case "auto.create.topics.enable": autoCreateTopics = try bool()
        case "delete.topic.enable": deleteTopicEnable = try bool()
        case "socket.request.max.bytes": socketRequestMaxBytes = try int(Int.self, 1024...Int(Int32.max))
        case "log.cleaner.enable": cleaner.enabled = try bool()
        case "log.cleaner.dedupe.buffer.size": cleaner.dedupeBufferSize = try int(Int.self, 1 << 20...Int.max)
        case "log.cleaner.backoff.ms": cleaner.backoffMs = try int(Int64.self, 0...Int64.max)
        case "log.cleaner.io.buffer.size": cleaner.ioBufferSize = try int(Int.self, 4096...Int(Int32.max))
        case "log.cleaner.threads": _ = try int(Int.self, 1...1)
        case "log.retention.check.interval.ms": logRetentionCheckIntervalMs = try int(Int64.self, 1...Int64.max)
        case "log.flush.scheduler.interval.ms": logFlushSchedulerIntervalMs = try int(Int64.self, 1...Int64.max)
        case "log.flush.offset.checkpoint.interval.ms": logFlushOffsetCheckpointIntervalMs = try int(Int64.self, 1...Int64.max)
        case "log.reservation.budget.bytes": logReservationBudgetBytes = try int(Int.self, 0...Int.max)
        case "group.initial.rebalance.delay.ms": groupInitialRebalanceDelayMs = try int(Int64.self, 0...Int64.max)
        case "group.min.session.timeout.ms": groupMinSessionTimeoutMs = try int(Int32.self, 1...Int32.max)
        case "group.max.session.timeout.ms": groupMaxSessionTimeoutMs = try int(Int32.self, 1...Int32.max)
        case _ where ConsumerGroupSettings.keys.contains(key): try consumerGroups.apply(key: key, value: value)
        case "offset.metadata.max.bytes": offsetMetadataMaxBytes = try int(Int.self, 0...Int(Int32.max))
        case "producer.id.expiration.ms": producerIdExpirationMs = try int(Int64.self, 1...Int64.max)
        case "max.incremental.fetch.session.cache.slots": maxIncrementalFetchSessionCacheSlots = try int(Int.self, 0...Int(Int32.max))
        case "min.incremental.fetch.session.eviction.ms": minIncrementalFetchSessionEvictionMs = try int(Int64.self, 0...Int64.max)
        case "transaction.max.timeout.ms": transactionMaxTimeoutMs = try int(Int32.self, 1...Int32.max)
        case "transactional.id.expiration.ms": transactionalIdExpirationMs = try int(Int64.self, 1...Int64.max)
        case "num.io.threads": ioThreads = try int(Int.self, 1...256)
        case "num.network.threads": networkThreads = try int(Int.self, 1...256)
        case "zookeeper.connect": zookeeperConnect = value.isEmpty ? nil : value
        case "metrics.listener": metricsListener = value.isEmpty ? nil : value
        case "zookeeper.session.timeout.ms": zookeeperSessionTimeoutMs = try int(Int32.self, 1...Int32.max)
        case "zookeeper.set.acl": zookeeperSetAcl = try bool()
        case "java.security.auth.login.config": jaasConfigPath = value.isEmpty ? nil : value
        case "zookeeper.sasl.client": zookeeperSaslClient = try bool()
        case "zookeeper.sasl.clientconfig": zookeeperSaslClientConfig = value
        case "zookeeper.ssl.client.enable": zookeeperTLSEnabled = try bool()
        case "zookeeper.clientCnxnSocket":
            // Java's Netty socket is what TLS needs in Kafka; NIO here always can do TLS.
            break
        case "zookeeper.ssl.truststore.location": zookeeperTrustStore = value.isEmpty ? nil : value
        case "zookeeper.ssl.keystore.location": zookeeperKeyStore = value.isEmpty ? nil : value
        case "zookeeper.ssl.keystore.type", "zookeeper.ssl.truststore.type":
            guard value.uppercased() == "PEM" else { throw .invalid(key: key, value: value, reason: "only PEM files are supported") }
        case "zookeeper.ssl.endpoint.identification.algorithm": zookeeperVerifyHostname = value.lowercased() == "https"
        case "listener.security.protocol.map": listenerSecurityProtocolMap = try Self.parseProtocolMap(value, key: key)
        case "connections.max.reauth.ms": connectionsMaxReauthMs = try int(Int64.self, 0...Int64.max)
        case "connection.failed.authentication.delay.ms": connectionFailedAuthenticationDelayMs = try int(Int64.self, 0...60_000)
        case "sasl.server.max.receive.size": saslServerMaxReceiveSize = try int(Int.self, 64...Int(Int32.max))
        case "connections.max.idle.ms": connectionsMaxIdleMs = try int(Int64.self, 1...Int64.max)
        case "max.connections": maxConnections = try int(Int.self, 1...Int(Int32.max))
        case "max.connections.per.ip": maxConnectionsPerIP = try int(Int.self, 0...Int(Int32.max))
        case "max.connections.per.ip.overrides":
            var overrides: [String: Int] = [:]
            for entry in value.split(separator: ",") where !entry.allSatisfy(\.isWhitespace) {
                // The count follows the last colon, so IPv6 addresses need no brackets (Kafka's format).
                guard let colon = entry.lastIndex(of: ":"), let count = Int(String(entry[entry.index(after: colon)...]).trimmingSpaces()),
                      count >= 0, !String(entry[..<colon]).trimmingSpaces().isEmpty else {
                    throw .invalid(key: key, value: value, reason: "expected host:count pairs separated by commas")
                }
                overrides[String(entry[..<colon]).trimmingSpaces()] = count
            }
            maxConnectionsPerIPOverrides = overrides
        case "authorizer.class.name":
            let known = ["kafka.security.authorizer.AclAuthorizer", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                         "kafka.security.auth.SimpleAclAuthorizer"]
            if value.isEmpty {
                authorizerEnabled = false
            } else if known.contains(value) || value.hasSuffix(".AclAuthorizer") || value.hasSuffix(".StandardAuthorizer") {
                authorizerEnabled = true
            } else {
                throw .invalid(key: key, value: value, reason: "ledgerstream's authorizer has Kafka's ACL semantics; name \(known[0]) or \(known[1])")
            }
        case "super.users":
            do { superUsers = try Authorizer.parseSuperUsers(value) } catch { throw .invalid(key: key, value: value, reason: "\(error)") }
        case "allow.everyone.if.no.acl.found": allowEveryoneIfNoAclFound = try bool()
        case _ where Self.isSecurityKey(key):
            securityProperties[key] = value
            if !Self.isKnownSecurityKey(key) { unknownKeys.append(key) }
        default:
            if LogConfig.brokerPropertyNames[key] != nil {
                do {
                    let (topicKey, topicValue) = try LogConfig.topicValue(forBrokerProperty: key, value: value)
                    logDefaults = try logDefaults.applying([topicKey: topicValue])
                } catch {
                    throw .invalid(key: key, value: value, reason: "\(error)")
                }
            } else {
                explicitKeys.remove(key)
                unknownKeys.append(key)
            }
        }
    }

    /// Keys resolved per listener by ``securitySetting(_:listener:)``.
    static func isSecurityKey(_ key: String) -> Bool {
        key.hasPrefix("ssl.") || key.hasPrefix("sasl.") || key.hasPrefix("listener.name.")
    }

    /// Security keys ledgerstream reads (bare or as `listener.name.<l>.<key>`); others are reported at startup, so a
    /// setting such as `ssl.cipher.suites` is never silently assumed to apply.
    static let knownSecurityKeys: Set<String> = [
        "ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
        "ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.truststore.type", "ssl.truststore.location",
        "ssl.truststore.certificates", "ssl.truststore.password", "ssl.client.auth", "ssl.principal.mapping.rules",
        "ssl.enabled.protocols", "ssl.protocol", "sasl.enabled.mechanisms", "sasl.jaas.config",
        "plain.sasl.jaas.config", "scram-sha-256.sasl.jaas.config", "scram-sha-512.sasl.jaas.config",
    ]

    static func isKnownSecurityKey(_ key: String) -> Bool {
        var bare = Substring(key)
        if bare.hasPrefix("listener.name.") {
            let rest = bare.dropFirst("listener.name.".count)
            guard let dot = rest.firstIndex(of: ".") else { return false }
            bare = rest[rest.index(after: dot)...]
        }
        return knownSecurityKeys.contains(String(bare))
    }

    /// A security setting for one listener: `listener.name.<lowercase name>.<key>`, else `<key>`.
    public func securitySetting(_ key: String, listener: String) -> String? {
        securityProperties["listener.name.\(listener.lowercased()).\(key)"] ?? securityProperties[key]
    }

    /// The security protocol of a listener, from `listener.security.protocol.map`.
    public func securityProtocol(of listener: Listener) throws(BrokerConfigError) -> SecurityProtocol {
        guard let proto = listenerSecurityProtocolMap[listener.name] else {
            throw .invalid(key: "listener.security.protocol.map", value: listener.name,
                           reason: "listener \(listener.name) has no security protocol; add \(listener.name):PLAINTEXT (or SSL, SASL_PLAINTEXT, SASL_SSL)")
        }
        return proto
    }

    private static func parseProtocolMap(_ value: String, key: String) throws(BrokerConfigError) -> [String: SecurityProtocol] {
        var map: [String: SecurityProtocol] = [:]
        for entry in value.split(separator: ",") {
            let pair = entry.split(separator: ":", maxSplits: 1).map { String($0).trimmingSpaces() }
            guard pair.count == 2, let proto = SecurityProtocol(rawValue: pair[1].uppercased()), !pair[0].isEmpty else {
                throw .invalid(key: key, value: value, reason: "expected NAME:PROTOCOL pairs, PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")
            }
            map[pair[0].uppercased()] = proto
        }
        return map
    }

    private static func parseListeners(_ value: String, key: String) throws(BrokerConfigError) -> [Listener] {
        var listeners: [Listener] = []
        for part in value.split(separator: ",") {
            do {
                listeners.append(try Listener(parsing: String(part)))
            } catch {
                guard case .invalid(_, let v, let reason) = error else { throw error }
                throw .invalid(key: key, value: v, reason: reason)
            }
        }
        guard !listeners.isEmpty else { throw .invalid(key: key, value: value, reason: "expected at least one listener") }
        return listeners
    }
}
