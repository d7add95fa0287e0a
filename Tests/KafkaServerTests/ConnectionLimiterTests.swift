import JavaProperties
import Testing

import KafkaBroker
@testable import KafkaServer

/// Connection admission: Kafka's max.connections and max.connections.per.ip, under the descriptor ceiling.
@Suite struct ConnectionLimiterTests {
    @Test func theBrokerWideLimitRefusesUntilASlotIsReleased() {
        var limiter = ConnectionLimiter(maxConnections: 2)
        #expect(limiter.admit("10.0.0.1") == nil && limiter.admit("10.0.0.2") == nil)
        #expect(limiter.admit("10.0.0.3") == .brokerLimit(2))
        #expect(limiter.total == 2)
        limiter.release("10.0.0.1")
        #expect(limiter.admit("10.0.0.3") == nil)
        #expect(limiter.perIP == ["10.0.0.2": 1, "10.0.0.3": 1])
    }

    @Test func thePerIPLimitAndItsOverrides() {
        var limiter = ConnectionLimiter(maxConnections: 100, maxPerIP: 2, perIPOverrides: ["127.0.0.1": 3, "10.9.9.9": 0])
        #expect(limiter.admit("10.0.0.1") == nil && limiter.admit("10.0.0.1") == nil)
        #expect(limiter.admit("10.0.0.1") == .perIPLimit(host: "10.0.0.1", limit: 2))
        #expect((0..<3).allSatisfy { _ in limiter.admit("127.0.0.1") == nil })
        #expect(limiter.admit("127.0.0.1") == .perIPLimit(host: "127.0.0.1", limit: 3))
        #expect(limiter.admit("10.9.9.9") == .perIPLimit(host: "10.9.9.9", limit: 0))
        // A refusal counts nothing.
        #expect(limiter.total == 5)
    }

    @Test func theCeilingKeepsAReserveOfDescriptorsForTheLog() {
        #expect(ConnectionLimiter.ceiling(descriptorLimit: 256) == 192)
        #expect(ConnectionLimiter.ceiling(descriptorLimit: 100) == 36)
        #expect(ConnectionLimiter.ceiling(descriptorLimit: 20_000) == 15_904)
        #expect(ConnectionLimiter.ceiling(descriptorLimit: 1 << 20) == (1 << 20) - 4096)
        #expect(ConnectionLimiter.ceiling(descriptorLimit: 10) == 1)
    }

    @Test func kafkasConnectionPropertiesAreRead() throws {
        var config = BrokerConfig()
        try config.apply(JavaProperties(parsing: """
            max.connections=500
            max.connections.per.ip=20
            max.connections.per.ip.overrides=127.0.0.1:200, ::1:100,host.example:5
            """))
        #expect(config.maxConnections == 500 && config.maxConnectionsPerIP == 20)
        #expect(config.maxConnectionsPerIPOverrides == ["127.0.0.1": 200, "::1": 100, "host.example": 5])
        var bad = BrokerConfig()
        #expect(throws: BrokerConfigError.self) { try bad.apply(JavaProperties(parsing: "max.connections.per.ip.overrides=nohost")) }
        #expect(throws: BrokerConfigError.self) { try bad.apply(JavaProperties(parsing: "max.connections=0")) }
    }
}
