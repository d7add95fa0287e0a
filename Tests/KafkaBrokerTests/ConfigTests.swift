import JavaProperties
import LogStorage
import Testing

@testable import KafkaBroker

/// server.properties parsing and Kafka's property names.
@Suite struct ConfigTests {
    @Test func javaPropertiesFormat() {
        let text = """
            # a comment
            ! another comment
            listeners=PLAINTEXT://127.0.0.1:9092
            log.dirs : /tmp/kafka-logs
            num.partitions 3
              spaced.key   =   value with spaces  
            multi.line=first,\\
                second
            escaped\\=key=a\\tb
            unicode=caf\\u00e9
            listeners=PLAINTEXT://127.0.0.1:9093
            """
        let properties = JavaProperties(parsing: text)
        #expect(properties["listeners"] == "PLAINTEXT://127.0.0.1:9093")  // the last one wins
        #expect(properties["log.dirs"] == "/tmp/kafka-logs")
        #expect(properties["num.partitions"] == "3")
        #expect(properties["spaced.key"] == "value with spaces  ")
        #expect(properties["multi.line"] == "first,second")
        #expect(properties["escaped=key"] == "a\tb")
        #expect(properties["unicode"] == "café")
        #expect(properties.keys.count == 7)
    }

    @Test func kafkaServerPropertiesAreUnderstood() throws {
        var config = BrokerConfig()
        try config.apply(JavaProperties(parsing: """
            broker.id=7
            listeners=PLAINTEXT://:9094
            advertised.listeners=PLAINTEXT://broker.example:9094
            log.dirs=/data/a,/data/b
            num.partitions=4
            auto.create.topics.enable=false
            log.segment.bytes=1048576
            log.retention.hours=2
            log.retention.bytes=1000000
            message.max.bytes=2000000
            socket.request.max.bytes=5000000
            zookeeper.connect=localhost:2181/kafka
            log.reservation.budget.bytes=0
            some.unknown.key=1
            """))
        #expect(config.nodeId == 7)
        #expect(config.listeners == [Listener(host: "", port: 9094)])
        #expect(config.advertisedListeners == [Listener(host: "broker.example", port: 9094)])
        #expect(config.dataDirectory == "/data/a")
        #expect(config.numPartitions == 4 && !config.autoCreateTopics)
        #expect(config.logDefaults.segmentBytes == 1_048_576)
        #expect(config.logDefaults.retentionMs == 7_200_000)
        #expect(config.logDefaults.retentionBytes == 1_000_000)
        #expect(config.logDefaults.maxMessageBytes == 2_000_000)
        #expect(config.socketRequestMaxBytes == 5_000_000)
        #expect(config.zookeeperConnect == "localhost:2181/kafka")
        #expect(config.logReservationBudgetBytes == 0)
        #expect(config.unknownKeys == ["some.unknown.key"])
    }

    @Test func theReservationBudgetIsLeftToTheDiskUnlessSet() {
        #expect(BrokerConfig().logReservationBudgetBytes == nil)
    }

    @Test func badValuesNameTheKey() {
        var config = BrokerConfig()
        #expect(throws: BrokerConfigError.invalid(key: "num.partitions", value: "zero", reason: "expected an integer in 1...2147483647")) {
            try config.apply(key: "num.partitions", value: "zero")
        }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "listeners", value: "SS L://127.0.0.1:9093") }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "listener.security.protocol.map", value: "CLIENT:TLS") }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "authorizer.class.name", value: "com.example.Mine") }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "super.users", value: "admin") }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "listeners", value: "127.0.0.1:9093") }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "default.replication.factor", value: "3") }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "log.segment.bytes", value: "-5") }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "log.reservation.budget.bytes", value: "-1") }
    }

    @Test func listenerAddressesParseNameHostAndPort() throws {
        #expect(try Listener(parsing: " client://10.0.0.1:9092 ") == Listener(name: "CLIENT", host: "10.0.0.1", port: 9092))
        #expect(try Listener(parsing: "PLAINTEXT://:9094") == Listener(host: "", port: 9094))
        #expect(try Listener(parsing: "SSL://[::1]:9093") == Listener(name: "SSL", host: "::1", port: 9093))
        #expect(try Listener(parsing: "PLAINTEXT://[::1]:9093").description == "PLAINTEXT://[::1]:9093")
        for bad in ["PLAINTEXT:/127.0.0.1:9092", "PLAINTEXT:127.0.0.1:9092", "://127.0.0.1:9092", "A:B://h:1",
                    "PLAINTEXT://127.0.0.1", "PLAINTEXT://127.0.0.1:70000", "PLAINTEXT://"] {
            #expect(throws: BrokerConfigError.self, "\(bad)") { try Listener(parsing: bad) }
        }
    }

    @Test func topicConfigsUseKafkaNamesAndReportOverrides() throws {
        let config = try LogConfig().applying(["retention.ms": "1000", "segment.bytes": "4096"])
        #expect(config.retentionMs == 1000 && config.segmentBytes == 4096)
        let overridden = config.entries.filter(\.isOverride).map(\.name)
        #expect(overridden == ["retention.ms", "segment.bytes"])
        #expect(throws: LogConfigError.unknownKey("retention.hours")) { try LogConfig().applying(["retention.hours": "1"]) }
        #expect(throws: LogConfigError.self) { try LogConfig().applying(["cleanup.policy": "shred"]) }
        #expect(throws: LogConfigError.self) { try LogConfig().applying(["min.cleanable.dirty.ratio": "1.5"]) }
        let compacted = try LogConfig().applying(["cleanup.policy": "delete, compact", "min.cleanable.dirty.ratio": "0.01"])
        #expect(compacted.cleanupPolicy == CleanupPolicy(delete: true, compact: true))
        #expect(compacted.entries.first { $0.name == "cleanup.policy" }?.value == "compact,delete")
        #expect(compacted.minCleanableDirtyRatio == 0.01)
        #expect(try LogConfig.topicValue(forBrokerProperty: "log.cleaner.delete.retention.ms", value: "5") == ("delete.retention.ms", "5"))
    }
}
