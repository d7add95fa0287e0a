import JavaProperties
import Testing

@testable import Coordinator
@testable import CoordinatorServer
@testable import ZooKeeperClient

/// Goal: zoo.cfg / zookeeper.properties files mean what they mean to Apache ZooKeeper. Method: parse real-looking files.
struct ConfigTests {
    @Test func defaults() {
        let config = ZooKeeperServerConfig()
        #expect(config.clientPort == 2181)
        #expect(config.clientPortAddress == "127.0.0.1")
        #expect(config.dataDir == "ledgerstream-zookeeper")
        #expect(config.sessionLimits == SessionLimits(tickTimeMs: 2000, minSessionTimeoutMs: 4000, maxSessionTimeoutMs: 40_000))
        #expect(config.fourLetterWordWhitelist == ["srvr"])
        #expect(config.maxFrameBytes == 0xfffff + 1024)
    }

    @Test func kafkasZookeeperProperties() throws {
        var config = ZooKeeperServerConfig()
        try config.apply(JavaProperties(parsing: """
            # the directory where the snapshot is stored.
            dataDir=/tmp/zookeeper
            # the port at which the clients will connect
            clientPort=2182
            # disable the per-ip limit on the number of connections since this is a non-production config
            maxClientCnxns=0
            # Disable the adminserver by default to avoid port conflicts.
            admin.enableServer=false
            tickTime=500
            4lw.commands.whitelist=ruok, srvr ,mntr
            server.1=localhost:2888:3888
            frobnicate=yes
            """))
        #expect(config.dataDir == "/tmp/zookeeper")
        #expect(config.clientPort == 2182)
        #expect(config.maxClientCnxns == 0)
        #expect(config.sessionLimits.minSessionTimeoutMs == 1000)
        #expect(config.sessionLimits.maxSessionTimeoutMs == 10_000)
        #expect(config.fourLetterWordWhitelist == ["ruok", "srvr", "mntr"])
        #expect(config.ignoredKeys == ["admin.enableServer", "server.1"])
        #expect(config.unknownKeys == ["frobnicate"])
    }

    @Test func starEnablesEveryWordAndExplicitTimeouts() throws {
        var config = ZooKeeperServerConfig()
        try config.apply(JavaProperties(parsing: "4lw.commands.whitelist=*\nminSessionTimeout=1000\nmaxSessionTimeout=-1\njute.maxbuffer=4096"))
        #expect(config.fourLetterWordWhitelist == nil)
        #expect(config.allows("mntr"))
        #expect(config.sessionLimits.minSessionTimeoutMs == 1000)
        #expect(config.sessionLimits.maxSessionTimeoutMs == 40_000)
        #expect(config.maxFrameBytes == 4096 + 1024)
    }

    @Test func invalidValuesNameTheKey() {
        var config = ZooKeeperServerConfig()
        #expect(throws: ZooKeeperConfigError.invalid(key: "clientPort", value: "http", reason: "expected an integer in 0...65535")) {
            try config.apply(JavaProperties(parsing: "clientPort=http"))
        }
        #expect(throws: ZooKeeperConfigError.self) {
            try config.apply(JavaProperties(parsing: "minSessionTimeout=50000\nmaxSessionTimeout=10000"))
        }
    }

    @Test func connectStrings() throws {
        let plain = try ConnectString(parsing: "127.0.0.1:2181")
        #expect(plain.servers.map(\.port) == [2181])
        #expect(plain.chroot == nil)
        let full = try ConnectString(parsing: "a:1,b,[::1]:3/kafka/prod/")
        #expect(full.servers.map(\.host) == ["a", "b", "::1"])
        #expect(full.servers.map(\.port) == [1, 2181, 3])
        #expect(full.chroot == "/kafka/prod")
        #expect(full.serverPath("/brokers") == "/kafka/prod/brokers")
        #expect(full.serverPath("/") == "/kafka/prod")
        #expect(full.clientPath("/kafka/prod/brokers/ids") == "/brokers/ids")
        #expect(throws: ZooKeeperClientError.self) { try ConnectString(parsing: "/chroot-only") }
        #expect(throws: ZooKeeperClientError.self) { try ConnectString(parsing: "h:99999") }
    }
}
