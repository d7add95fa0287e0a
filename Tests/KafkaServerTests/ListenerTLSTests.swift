import KafkaBroker
import Testing

@testable import KafkaServer

/// A TLS listener's server context is made at startup, and what is missing is named.
@Suite struct ListenerTLSTests {
    @Test func tlsListenersExplainWhatIsMissing() throws {
        var config = BrokerConfig()
        try config.apply(key: "listeners", value: "SSL://127.0.0.1:0")
        do {
            _ = try ListenerTLS.context(for: ListenerSecurity(listener: config.listeners[0], config: config), config: config)
            Issue.record("an SSL listener without a certificate was accepted")
        } catch {
            #expect("\(error)".contains("ssl.keystore.location"))
        }
        try config.apply(key: "ssl.keystore.location", value: "/nonexistent/broker.pem")
        do {
            _ = try ListenerTLS.context(for: ListenerSecurity(listener: config.listeners[0], config: config), config: config)
            Issue.record("a missing keystore was accepted")
        } catch {
            #expect("\(error)".contains("cannot load the server certificate"))
        }
    }

    @Test func plaintextListenersHaveNoContext() throws {
        var config = BrokerConfig()
        try config.apply(key: "listeners", value: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0")
        for listener in config.listeners {
            #expect(try ListenerTLS.context(for: ListenerSecurity(listener: listener, config: config), config: config) == nil)
        }
    }
}
