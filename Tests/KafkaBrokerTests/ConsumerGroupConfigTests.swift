import GroupCoordinator
import JavaProperties
import Testing

@testable import KafkaBroker

/// The KIP-848 broker settings: Kafka's names, defaults and startup checks.
@Suite struct ConsumerGroupConfigTests {
    @Test func defaultsAreKafka4s() throws {
        let config = BrokerConfig()
        try config.consumerGroups.validate()
        let coordinator = config.consumerGroups.coordinatorConfig
        #expect(coordinator.enabled && coordinator.sessionTimeoutMs == 45_000 && coordinator.heartbeatIntervalMs == 5_000)
        #expect(coordinator.assignors == [.uniform, .range] && coordinator.maxSize == .max)
    }

    @Test func settingsAreParsed() throws {
        var config = BrokerConfig()
        try config.apply(JavaProperties(parsing: """
            group.coordinator.rebalance.protocols=classic
            group.consumer.min.heartbeat.interval.ms=500
            group.consumer.heartbeat.interval.ms=1000
            group.consumer.session.timeout.ms=50000
            group.consumer.assignors=org.apache.kafka.coordinator.group.assignor.RangeAssignor,uniform
            group.consumer.max.size=3
            group.consumer.migration.policy=disabled
            """))
        try config.consumerGroups.validate()
        let coordinator = config.consumerGroups.coordinatorConfig
        #expect(!coordinator.enabled && coordinator.heartbeatIntervalMs == 1000 && coordinator.sessionTimeoutMs == 50_000)
        #expect(coordinator.assignors == [.range, .uniform] && coordinator.maxSize == 3)
        #expect(config.unknownKeys.isEmpty)
    }

    @Test func invalidSettingsAreRefused() throws {
        var config = BrokerConfig()
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "group.coordinator.rebalance.protocols", value: "consumer") }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "group.consumer.assignors", value: "sticky") }
        #expect(throws: BrokerConfigError.self) { try config.apply(key: "group.consumer.migration.policy", value: "upgrade") }
        try config.apply(key: "group.consumer.heartbeat.interval.ms", value: "1000")
        #expect(throws: BrokerConfigError.self) { try config.consumerGroups.validate() }  // below the 5000 minimum
        try config.apply(key: "group.consumer.min.heartbeat.interval.ms", value: "100")
        try config.consumerGroups.validate()
        try config.apply(key: "group.consumer.heartbeat.interval.ms", value: "15000")
        try config.apply(key: "group.consumer.min.session.timeout.ms", value: "10000")
        try config.apply(key: "group.consumer.session.timeout.ms", value: "10000")
        #expect(throws: BrokerConfigError.self) { try config.consumerGroups.validate() }  // interval >= session
    }
}
