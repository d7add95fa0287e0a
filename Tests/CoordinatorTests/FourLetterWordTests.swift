import Testing
import ZooKeeperProtocol

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: the four-letter words answer in ZooKeeper 3.8's formats (tools parse `Mode:`, `zk_…` keys, `imok`) and
/// respect the whitelist. Method: render from a fixed snapshot and compare whole strings.
struct FourLetterWordTests {
    func snapshot(whitelist: Set<String>? = nil) -> ServerSnapshot {
        var config = ZooKeeperServerConfig()
        config.clientPort = 2181
        config.fourLetterWordWhitelist = whitelist
        var statistics = ServerStatistics()
        statistics.packetsReceived = 12
        statistics.packetsSent = 11
        statistics.recordLatency(ms: 0)
        statistics.recordLatency(ms: 3)
        statistics.recordLatency(ms: 1)
        var connection = ConnectionInfo(remoteAddress: "127.0.0.1:48178", remoteIP: "127.0.0.1")
        connection.received = 1
        return ServerSnapshot(
            version: "3.8.0-ledgerstream-0.1.0", statistics: statistics, authFailures: 0, connections: [connection], lastZxid: Zxid(0x32),
            nodeCount: 4, ephemerals: [SessionID(0x100): ["/e"]], sessions: [(SessionID(0x100), 4000)], watchCount: 2,
            watchedPaths: 2, watchingConnections: 1, approximateDataSize: 44, config: config,
            storageDirectory: "/data/coordinator", storageBytes: 457, uptimeMs: 1000, openFileDescriptors: 20,
            maxFileDescriptors: 1024, environment: [("zookeeper.version", "3.8.0-ledgerstream-0.1.0")])
    }

    @Test func ruokAndSrvr() {
        #expect(FourLetterWordResponder.respond(to: "ruok", snapshot: snapshot()) == "imok")
        #expect(FourLetterWordResponder.respond(to: "srvr", snapshot: snapshot()) == """
            Zookeeper version: 3.8.0-ledgerstream-0.1.0
            Latency min/avg/max: 0/1.3333/3
            Received: 12
            Sent: 11
            Connections: 1
            Outstanding: 0
            Zxid: 0x32
            Mode: standalone
            Node count: 5

            """)
    }

    @Test func statListsClients() {
        let text = FourLetterWordResponder.respond(to: "stat", snapshot: snapshot())
        #expect(text.hasPrefix("Zookeeper version: 3.8.0-ledgerstream-0.1.0\nClients:\n /127.0.0.1:48178[0](queued=0,recved=1,sent=0)\n\nLatency min/avg/max: "))
        #expect(text.hasSuffix("Mode: standalone\nNode count: 5\n"))
    }

    @Test func mntrIsTabSeparated() {
        let lines = FourLetterWordResponder.respond(to: "mntr", snapshot: snapshot()).split(separator: "\n")
        let values = Dictionary(uniqueKeysWithValues: lines.map { line -> (String, String) in
            let parts = line.split(separator: "\t", maxSplits: 1)
            return (String(parts[0]), String(parts[1]))
        })
        #expect(lines.first == "zk_version\t3.8.0-ledgerstream-0.1.0")
        #expect(values["zk_server_state"] == "standalone")
        #expect(values["zk_znode_count"] == "5")
        #expect(values["zk_ephemerals_count"] == "1")
        #expect(values["zk_watch_count"] == "2")
        #expect(values["zk_avg_latency"] == "1.3333")
        #expect(values["zk_max_latency"] == "3")
        #expect(values["zk_packets_received"] == "12")
        #expect(values["zk_num_alive_connections"] == "1")
        #expect(values["zk_approximate_data_size"] == "44")
    }

    @Test func conf() {
        #expect(FourLetterWordResponder.respond(to: "conf", snapshot: snapshot()) == """
            clientPort=2181
            secureClientPort=-1
            dataDir=/data/coordinator
            dataDirSize=457
            dataLogDir=/data/coordinator
            dataLogSize=457
            tickTime=2000
            maxClientCnxns=60
            minSessionTimeout=4000
            maxSessionTimeout=40000
            clientPortListenBacklog=-1
            serverId=0

            """)
    }

    @Test func otherWords() {
        #expect(FourLetterWordResponder.respond(to: "isro", snapshot: snapshot()) == "rw")
        #expect(FourLetterWordResponder.respond(to: "wchs", snapshot: snapshot()) == "1 connections watching 2 paths\nTotal watches:2\n")
        #expect(FourLetterWordResponder.respond(to: "dirs", snapshot: snapshot()) == "datadir_size: 457\nlogdir_size: 457\n")
        #expect(FourLetterWordResponder.respond(to: "dump", snapshot: snapshot()).contains("0x100:\n\t/e\n"))
        #expect(FourLetterWordResponder.respond(to: "srst", snapshot: snapshot()) == "Server stats reset.\n")
    }

    @Test func whitelist() {
        let limited = snapshot(whitelist: ["srvr"])
        #expect(FourLetterWordResponder.respond(to: "ruok", snapshot: limited) == "ruok is not executed because it is not in the whitelist.\n")
        #expect(FourLetterWordResponder.respond(to: "srvr", snapshot: limited).hasPrefix("Zookeeper version:"))
        #expect(ZooKeeperServerConfig().allows("srvr"))
        #expect(!ZooKeeperServerConfig().allows("mntr"))
    }

    @Test func javaStyleDecimals() {
        #expect(FourLetterWordResponder.decimal(0) == "0.0")
        #expect(FourLetterWordResponder.decimal(1.39762) == "1.3976")
        #expect(FourLetterWordResponder.decimal(2.5) == "2.5")
        #expect(FourLetterWordResponder.decimal(12) == "12.0")
    }
}
