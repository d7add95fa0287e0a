import Coordinator
import ZooKeeperProtocol

/// What the four-letter words report, gathered by the server at the moment of the question.
public struct ServerSnapshot: Sendable {
    public var version: String
    public var statistics: ServerStatistics
    public var authFailures: Int
    public var connections: [ConnectionInfo]
    public var lastZxid: Zxid
    public var nodeCount: Int
    public var ephemerals: [SessionID: Set<String>]
    public var sessions: [(SessionID, Int32)]
    public var watchCount: Int
    public var watchedPaths: Int
    public var watchingConnections: Int
    public var approximateDataSize: Int
    public var config: ZooKeeperServerConfig
    public var storageDirectory: String
    public var storageBytes: Int
    public var uptimeMs: Int64
    public var openFileDescriptors: Int
    public var maxFileDescriptors: Int
    public var environment: [(String, String)]
    /// Requests received whose replies wait for the group commit (ZooKeeper counts requests still in its processor
    /// chain; here the sync stage is the only place a request waits).
    public var outstandingRequests = 0

    /// ZooKeeper's node map holds the root twice (as "" and "/"), so its node count is one more than the nodes.
    public var reportedNodeCount: Int { nodeCount + 1 }

    public var ephemeralsCount: Int { ephemerals.values.reduce(0) { $0 + $1.count } }

    /// ZooKeeper's local sessions (`localSessionsEnabled`) exist only in ensembles; a single node has none.
    public var localSessionCount: Int { 0 }
}

/// Renders the answers to ZooKeeper's four-letter words in ZooKeeper 3.8's formats (`FourLetterCommands`), from a
/// ``ServerSnapshot``. Pure, so the exact text is unit-tested.
///
/// Implemented: ruok, srvr, stat, mntr, conf, cons, dump, envi, isro, wchs, dirs, srst, crst. A known word that is
/// not whitelisted gets ZooKeeper's refusal line; wchc, wchp, hash, gtmk and stmk say they are not implemented.
public enum FourLetterWordResponder {
    public static func respond(to word: String, snapshot: ServerSnapshot) -> String {
        guard snapshot.config.allows(word) else {
            return "\(word) is not executed because it is not in the whitelist.\n"
        }
        switch word {
        case "ruok": return "imok"
        case "srvr": return header(snapshot) + summary(snapshot)
        case "stat":
            return header(snapshot) + "Clients:\n" + snapshot.connections.map { brief($0) + "\n" }.joined() + "\n"
                + summary(snapshot)
        case "mntr": return monitor(snapshot)
        case "conf": return conf(snapshot)
        case "cons": return snapshot.connections.map { full($0) + "\n" }.joined() + "\n"
        case "dump": return dump(snapshot)
        case "envi": return "Environment:\n" + snapshot.environment.map { "\($0)=\($1)\n" }.joined()
        case "isro": return "rw"
        case "wchs":
            return "\(snapshot.watchingConnections) connections watching \(snapshot.watchedPaths) paths\n"
                + "Total watches:\(snapshot.watchCount)\n"
        case "dirs": return "datadir_size: \(snapshot.storageBytes)\nlogdir_size: \(snapshot.storageBytes)\n"
        case "srst": return "Server stats reset.\n"
        case "crst": return "Connection stats reset.\n"
        default: return "\(word) is not implemented by ledgerstream.\n"
        }
    }

    private static func header(_ s: ServerSnapshot) -> String {
        "Zookeeper version: \(s.version)\n"
    }

    private static func summary(_ s: ServerSnapshot) -> String {
        """
        Latency min/avg/max: \(s.statistics.latencyMinMs)/\(decimal(s.statistics.latencyAverageMs))/\(s.statistics.latencyMaxMs)
        Received: \(s.statistics.packetsReceived)
        Sent: \(s.statistics.packetsSent)
        Connections: \(s.connections.count)
        Outstanding: \(s.outstandingRequests)
        Zxid: \(s.lastZxid)
        Mode: standalone
        Node count: \(s.reportedNodeCount)

        """
    }

    /// ` /127.0.0.1:48178[0](queued=0,recved=1,sent=0)`: `[1]` marks an established session.
    private static func brief(_ c: ConnectionInfo) -> String {
        " /\(c.remoteAddress)[\(c.session == nil ? 0 : 1)](queued=0,recved=\(c.received),sent=\(c.sent))"
    }

    private static func full(_ c: ConnectionInfo) -> String {
        guard let session = c.session else { return brief(c) }
        return " /\(c.remoteAddress)[1](queued=0,recved=\(c.received),sent=\(c.sent),sid=\(session),lop=\(c.lastOp),"
            + "to=\(c.timeoutMs),lcxid=0x\(String(c.lastCxid, radix: 16)),lzxid=\(c.lastZxid))"
    }

    private static func monitor(_ s: ServerSnapshot) -> String {
        let values: [(String, String)] = [
            ("zk_version", s.version),
            ("zk_server_state", "standalone"),
            ("zk_ephemerals_count", "\(s.ephemeralsCount)"),
            ("zk_num_alive_connections", "\(s.connections.count)"),
            ("zk_avg_latency", decimal(s.statistics.latencyAverageMs)),
            ("zk_outstanding_requests", "\(s.outstandingRequests)"),
            ("zk_znode_count", "\(s.reportedNodeCount)"),
            ("zk_global_sessions", "\(s.sessions.count)"),
            ("zk_local_sessions", "\(s.localSessionCount)"),
            ("zk_packets_sent", "\(s.statistics.packetsSent)"),
            ("zk_packets_received", "\(s.statistics.packetsReceived)"),
            ("zk_watch_count", "\(s.watchCount)"),
            ("zk_auth_failed_count", "\(s.authFailures)"),
            ("zk_min_latency", "\(s.statistics.latencyMinMs)"),
            ("zk_max_file_descriptor_count", "\(s.maxFileDescriptors)"),
            ("zk_approximate_data_size", "\(s.approximateDataSize)"),
            ("zk_open_file_descriptor_count", "\(s.openFileDescriptors)"),
            ("zk_uptime", "\(s.uptimeMs)"),
            ("zk_max_latency", "\(s.statistics.latencyMaxMs)"),
            ("zk_last_zxid", "\(s.lastZxid)"),
        ]
        return values.map { "\($0)\t\($1)\n" }.joined()
    }

    private static func conf(_ s: ServerSnapshot) -> String {
        let limits = s.config.sessionLimits
        return """
            clientPort=\(s.config.clientPort)
            secureClientPort=-1
            dataDir=\(s.storageDirectory)
            dataDirSize=\(s.storageBytes)
            dataLogDir=\(s.storageDirectory)
            dataLogSize=\(s.storageBytes)
            tickTime=\(s.config.tickTimeMs)
            maxClientCnxns=\(s.config.maxClientCnxns)
            minSessionTimeout=\(limits.minSessionTimeoutMs)
            maxSessionTimeout=\(limits.maxSessionTimeoutMs)
            clientPortListenBacklog=-1
            serverId=0

            """
    }

    private static func dump(_ s: ServerSnapshot) -> String {
        var text = "SessionTracker dump:\nGlobal Sessions(\(s.sessions.count)):\n"
        for (session, timeout) in s.sessions { text += "\(session)\t\(timeout)ms\n" }
        let owners = s.ephemerals.keys.sorted()
        text += "ephemeral nodes dump:\nSessions with Ephemerals (\(owners.count)):\n"
        for owner in owners {
            text += "\(owner):\n" + s.ephemerals[owner]!.sorted().map { "\t\($0)\n" }.joined()
        }
        text += "Connections dump:\nConnections Sets (1)/(\(s.connections.count)):\n"
        for connection in s.connections where connection.session != nil {
            text += "\(connection.session!)\n"
        }
        return text
    }

    /// Java's rendering of a rounded double: "0.0", "1.3976".
    static func decimal(_ value: Double) -> String {
        let scaled = (value * 10_000).rounded()
        let whole = Int64(scaled) / 10_000
        var fraction = String(Int64(scaled) % 10_000)
        fraction = String(repeating: "0", count: 4 - fraction.count) + fraction
        while fraction.count > 1 && fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }
}
