import KafkaSecurity

/// Why a listener's security settings cannot be used; says which property to fix.
public struct ListenerSecurityError: Error, CustomStringConvertible {
    public var listener: String
    public var reason: String

    public var description: String { "listener \(listener): \(reason)" }

    package init(listener: String, reason: String) {
        self.listener = listener
        self.reason = reason
    }
}

/// What the broker's request logic needs to know about a listener's security, resolved from the properties once at
/// startup: its protocol, whether client certificates are asked for and how their subjects become principals, the
/// SASL mechanisms and PLAIN users (SASL_PLAINTEXT, SASL_SSL). The TLS context itself belongs to the transport
/// (`KafkaServer`'s `ListenerTLS`), which reads the same `ssl.*` settings.
package struct ListenerSecurity: Sendable {
    package var listener: Listener
    package var securityProtocol: SecurityProtocol
    /// Whether a client certificate is asked for (its subject becomes the principal on SSL listeners).
    package var clientAuth: ClientAuth
    var saslMechanisms: [SaslMechanism]
    var plainUsers: [String: String]
    var principalRules: PrincipalMappingRules

    package enum ClientAuth: String, Sendable { case none, requested, required }

    package init(listener: Listener, config: BrokerConfig) throws {
        self.listener = listener
        do {
            securityProtocol = try config.securityProtocol(of: listener)
        } catch {
            throw ListenerSecurityError(listener: listener.name, reason: "\(error)")
        }
        let name = listener.name
        func setting(_ key: String) -> String? { config.securitySetting(key, listener: name).flatMap { $0.isEmpty ? nil : $0 } }
        func fail(_ reason: String) -> ListenerSecurityError { ListenerSecurityError(listener: name, reason: reason) }

        let authText = setting("ssl.client.auth")?.lowercased() ?? "none"
        guard let auth = ClientAuth(rawValue: authText) else {
            throw fail("ssl.client.auth is '\(authText)'; expected required, requested or none")
        }
        clientAuth = securityProtocol.usesTLS ? auth : .none
        do {
            principalRules = try PrincipalMappingRules(parsing: setting("ssl.principal.mapping.rules") ?? "DEFAULT")
        } catch {
            throw fail("ssl.principal.mapping.rules: \(error)")
        }

        saslMechanisms = []
        plainUsers = [:]
        guard securityProtocol.usesSASL else { return }
        do {
            saslMechanisms = try parseSaslMechanisms(setting("sasl.enabled.mechanisms") ?? "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512")
        } catch {
            throw fail("sasl.enabled.mechanisms: \(error)")
        }
        guard !saslMechanisms.isEmpty else { throw fail("sasl.enabled.mechanisms is empty") }
        if saslMechanisms.contains(.plain) {
            // Kafka reads PLAIN users from listener.name.<l>.plain.sasl.jaas.config; a bare sasl.jaas.config applies to
            // every listener.
            let jaasText = config.securityProperties["listener.name.\(name.lowercased()).plain.sasl.jaas.config"]
                ?? setting("sasl.jaas.config")
            if let jaasText {
                do {
                    plainUsers = try JaasConfig(parsing: jaasText).plainUsers
                } catch {
                    throw fail("plain.sasl.jaas.config: \(error)")
                }
            }
        }
    }
}
