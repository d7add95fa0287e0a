import Coordinator
import JavaProperties

/// Why a coordinator setting was refused; names the key and what is expected.
public enum ZooKeeperConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(key: String, value: String, reason: String)
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let key, let value, let reason): return "invalid value '\(value)' for \(key): \(reason)"
        case .unreadableFile(let path, let reason): return "cannot read \(path): \(reason)"
        }
    }
}

/// The coordinator's settings under Apache ZooKeeper's names (`zoo.cfg`, Kafka's `zookeeper.properties`), with
/// ZooKeeper's defaults except where a single local node needs another (listening on 127.0.0.1, data under the
/// current directory).
public struct ZooKeeperServerConfig: Sendable, Equatable {
    public var clientPort = 2181
    public var clientPortAddress = "127.0.0.1"
    public var dataDir = "ledgerstream-zookeeper"
    /// The length of a tick: the unit of session timeouts and of the expiry check.
    public var tickTimeMs: Int32 = 2000
    /// Defaults to 2 × tickTime.
    public var minSessionTimeoutMs: Int32?
    /// Defaults to 20 × tickTime.
    public var maxSessionTimeoutMs: Int32?
    /// Four-letter words that are answered; ZooKeeper 3.5+ enables only `srvr` unless told otherwise. nil = all (`*`).
    public var fourLetterWordWhitelist: Set<String>? = ["srvr"]
    /// Connections allowed per client IP address; 0 = unlimited (ZooKeeper's default is 60).
    public var maxClientCnxns = 60
    /// The largest znode data / request ZooKeeper accepts (`jute.maxbuffer`, 0xfffff by default); frames may exceed
    /// it by ``frameOverheadBytes`` for the request's header and path.
    public var juteMaxBuffer = 0xfffff
    /// Transactions between snapshots (ZooKeeper's `snapCount`).
    public var snapCount = 100_000
    /// How often empty containers are looked for (`znode.container.checkIntervalMs`).
    public var containerCheckIntervalMs: Int64 = 60_000
    /// Authentication providers, super users, ACL checks (`skipACL`, `authProvider.N`,
    /// `DigestAuthenticationProvider.superDigest`, the JAAS `Server` section's users…).
    public var security = SecurityPolicy()
    /// `secureClientPort`: a TLS client port (nil: none).
    public var secureClientPort: Int?
    /// `secureClientPortAddress` (default: `clientPortAddress`).
    public var secureClientPortAddress: String?
    /// `ssl.*`: the secure client port's key, trust store and client authentication.
    public var tls = ZooKeeperTLSSettings()
    /// `java.security.auth.login.config` (ZooKeeper takes it as a JVM flag; here also a property): the JAAS file whose
    /// `Server` section (`zookeeper.sasl.serverconfig`) lists the DIGEST-MD5 users.
    public var jaasConfigPath: String?
    /// `zookeeper.sasl.serverconfig`: the JAAS section with the server's users.
    public var jaasServerSection = "Server"
    /// `zookeeper.sessionRequireClientSASLAuth`, `zookeeper.enforce.auth.enabled` and `.schemes`, combined into
    /// ``SecurityPolicy/enforcedSchemes`` once every key is read.
    var sessionRequireClientSASLAuth = false
    var enforceAuthEnabled = false
    var enforceAuthSchemes: [String] = []
    /// `metricsProvider.className`: ZooKeeper's metrics provider. Naming its `PrometheusMetricsProvider` turns the
    /// Prometheus endpoint on (see ``prometheusMetrics``); any other provider means no endpoint.
    public var metricsProviderClassName: String?
    /// `metricsProvider.httpHost`. ZooKeeper's default is 0.0.0.0; here it is 127.0.0.1 unless the property says
    /// otherwise, so metrics stay on the machine unless an operator names another interface.
    public var metricsHTTPHost = "127.0.0.1"
    /// `metricsProvider.httpPort` (ZooKeeper's default, 7000; 0 picks a free port).
    public var metricsHTTPPort = 7000
    /// Settings that were accepted but deserve a warning at startup (an unknown authentication provider…).
    public var warnings: [String] = []
    /// Keys given that ledgerstream does not use (reported once at startup).
    public var unknownKeys: [String] = []
    /// Recognised ZooKeeper keys that have no effect on a single ledgerstream node (reported once at startup).
    public var ignoredKeys: [String] = []

    /// ZooKeeper's `zookeeper.jute.maxbuffer.extrasize`: room for the header and path around a maximal data buffer.
    public static let frameOverheadBytes = 1024

    public init() {}

    public var maxFrameBytes: Int { juteMaxBuffer + Self.frameOverheadBytes }

    /// Where to serve Prometheus metrics, `/healthz` and `/readyz`, when `metricsProvider.className` names
    /// ZooKeeper's PrometheusMetricsProvider (matched on the class's simple name, so any package spelling works).
    public var prometheusMetrics: (host: String, port: Int)? {
        guard let name = metricsProviderClassName, Self.isPrometheusProvider(name) else { return nil }
        return (metricsHTTPHost, metricsHTTPPort)
    }

    static let prometheusProviderName = "PrometheusMetricsProvider"

    static func isPrometheusProvider(_ className: String) -> Bool {
        className.split(separator: ".").last.map(String.init) == prometheusProviderName
    }

    /// ZooKeeper's own providers that export nothing over HTTP (the default one only feeds `mntr`).
    static let nonHTTPProviders: Set<String> = ["NullMetricsProvider", "DefaultMetricsProvider"]

    public var sessionLimits: SessionLimits {
        SessionLimits(tickTimeMs: tickTimeMs, minSessionTimeoutMs: minSessionTimeoutMs, maxSessionTimeoutMs: maxSessionTimeoutMs)
    }

    /// Whether a four-letter word is enabled.
    public func allows(_ word: String) -> Bool {
        fourLetterWordWhitelist?.contains(word) ?? true
    }

    /// Keys ZooKeeper knows that only matter for ensembles, the admin server, TLS, metrics or the JVM.
    static let ignorable: Set<String> = [
        "initLimit", "syncLimit", "autopurge.snapRetainCount", "autopurge.purgeInterval", "admin.enableServer",
        "admin.serverPort", "admin.serverAddress", "standaloneEnabled", "reconfigEnabled", "electionAlg",
        "quorumListenOnAllIPs", "preAllocSize", "globalOutstandingLimit",
        "metricsProvider.exportJvmInfo", "dataLogDir",
        "clientPortListenBacklog", "localSessionsEnabled", "localSessionsUpgradingEnabled",
        "serverCnxnFactory", "peerType", "syncEnabled", "forceSync", "leaderServes", "cnxTimeout",
        "audit.enable", "sslQuorum", "portUnification",
    ]

    /// Applies properties in ZooKeeper's names. Unknown keys are collected in `unknownKeys`, not rejected.
    public mutating func apply(_ properties: JavaProperties) throws(ZooKeeperConfigError) {
        for (key, value) in properties.entries { try apply(key: key, value: value) }
        let minimum = sessionLimits.minSessionTimeoutMs
        let maximum = sessionLimits.maxSessionTimeoutMs
        guard minimum <= maximum else {
            throw .invalid(key: "minSessionTimeout", value: "\(minimum)", reason: "must not exceed maxSessionTimeout (\(maximum))")
        }
        try finishSecurity()
        finishMetrics(given: Set(properties.keys))
    }

    /// Says when the metrics settings do nothing: another provider, or an HTTP address without the provider.
    private mutating func finishMetrics(given keys: Set<String>) {
        if let name = metricsProviderClassName, !Self.isPrometheusProvider(name) {
            let simpleName = name.split(separator: ".").last.map(String.init) ?? name
            if !Self.nonHTTPProviders.contains(simpleName) {
                warnings.append("metricsProvider.className=\(name) is not available here; metrics are served only by "
                    + "org.apache.zookeeper.metrics.prometheus.\(Self.prometheusProviderName)")
            }
        }
        if prometheusMetrics == nil {
            ignoredKeys += ["metricsProvider.httpHost", "metricsProvider.httpPort"].filter(keys.contains)
        }
    }

    public mutating func apply(key: String, value rawValue: String) throws(ZooKeeperConfigError) {
        let value = rawValue.trimmingCharacters(in: " \t")
        func int<T: FixedWidthInteger>(_: T.Type, _ range: ClosedRange<T>) throws(ZooKeeperConfigError) -> T {
            guard let number = T(value), range.contains(number) else {
                throw .invalid(key: key, value: value, reason: "expected an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        switch key {
        case "clientPort": clientPort = try int(Int.self, 0...65535)
        case "clientPortAddress":
            guard !value.isEmpty else { throw .invalid(key: key, value: value, reason: "expected an address") }
            clientPortAddress = value
        case "dataDir":
            guard !value.isEmpty else { throw .invalid(key: key, value: value, reason: "expected a directory") }
            dataDir = value
        case "tickTime": tickTimeMs = try int(Int32.self, 1...Int32.max / 20)
        case "minSessionTimeout": minSessionTimeoutMs = try int(Int32.self, -1...Int32.max).nonNegative
        case "maxSessionTimeout": maxSessionTimeoutMs = try int(Int32.self, -1...Int32.max).nonNegative
        case "4lw.commands.whitelist":
            let words = Set(value.split(separator: ",").map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty })
            fourLetterWordWhitelist = words.contains("*") ? nil : words
        case "maxClientCnxns": maxClientCnxns = try int(Int.self, 0...Int(Int32.max))
        case "jute.maxbuffer": juteMaxBuffer = try int(Int.self, 1024...(Int(Int32.max) - Self.frameOverheadBytes))
        case "snapCount": snapCount = try int(Int.self, 2...Int(Int32.max))
        case "znode.container.checkIntervalMs": containerCheckIntervalMs = try int(Int64.self, 1...Int64.max)
        case "secureClientPort": secureClientPort = try int(Int.self, 0...65535)
        case "metricsProvider.className":
            guard !value.isEmpty else { throw .invalid(key: key, value: value, reason: "expected a class name") }
            metricsProviderClassName = value
        case "metricsProvider.httpHost":
            guard !value.isEmpty else { throw .invalid(key: key, value: value, reason: "expected an address") }
            metricsHTTPHost = value
        case "metricsProvider.httpPort": metricsHTTPPort = try int(Int.self, 0...65535)
        case "secureClientPortAddress":
            guard !value.isEmpty else { throw .invalid(key: key, value: value, reason: "expected an address") }
            secureClientPortAddress = value
        default:
            if try applySecurity(key: key, value: value) { return }
            if Self.ignorable.contains(key) || key.hasPrefix("server.") || key.hasPrefix("group.") || key.hasPrefix("weight.")
                || key.hasPrefix("ssl.") || key.hasPrefix("authProvider.") || key.hasPrefix("zookeeper.")
            {
                ignoredKeys.append(key)
            } else {
                unknownKeys.append(key)
            }
        }
    }
}

extension Int32 {
    /// ZooKeeper treats −1 as "use the default".
    fileprivate var nonNegative: Int32? { self < 0 ? nil : self }
}

