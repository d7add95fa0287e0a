import Framing
import KafkaSecurity
import Synchronization

/// One connection's security state: its listener, the client's address, who it is (the principal), and where it
/// is in the SASL exchange. Requests of a connection run one at a time in order, so the state moves as Kafka's
/// SaslServerAuthenticator: handshake → token exchange → authenticated (→ re-authentication, KIP-368).
package final class ConnectionSession: Sendable {
    package let security: ListenerSecurity
    let clientHost: String
    package let clientAddress: String
    /// Lowered to `sasl.server.max.receive.size` until the client authenticates.
    package let frameLimit: FrameSizeLimit?
    private let state: Mutex<State>

    enum Phase: Sendable {
        /// Requests are served (PLAINTEXT/SSL listeners, or authenticated).
        case open
        /// A SASL listener before SaslHandshake: only ApiVersions and SaslHandshake are allowed.
        case awaitingHandshake
        /// After SaslHandshake: SaslAuthenticate requests (or raw tokens after a v0 handshake) carry the exchange.
        case exchanging(Exchange)
    }

    struct Exchange: Sendable {
        var mechanism: SaslMechanism
        /// SaslHandshake v0: tokens arrive as bare length-prefixed frames, without a Kafka request header.
        var rawTokens: Bool
        var scram: ScramServerExchange?
        /// A re-authentication of an authenticated session (the principal must not change).
        var reauthenticating: Bool
    }

    struct State: Sendable {
        var principal: KafkaPrincipal = .anonymous
        var phase: Phase
        var mechanism: SaslMechanism?
        /// KIP-368: after this time only a re-authentication is accepted.
        var sessionExpiresAtMs: Int64?
        var reauthStartedAtMs: Int64?
    }

    package init(security: ListenerSecurity, clientHost: String, clientAddress: String, maxUnauthenticatedFrame: Int) {
        self.security = security
        self.clientHost = clientHost
        self.clientAddress = clientAddress
        frameLimit = security.securityProtocol.usesSASL ? FrameSizeLimit(bytes: maxUnauthenticatedFrame) : nil
        state = Mutex(State(phase: security.securityProtocol.usesSASL ? .awaitingHandshake : .open))
    }

    var principal: KafkaPrincipal { state.withLock { $0.principal } }

    /// Whether requests are served: a SASL client has authenticated (other listeners always are).
    package var isAuthenticated: Bool {
        state.withLock { state in
            if case .open = state.phase { return true }
            return false
        }
    }
    var listenerName: String { security.listener.name }

    func withState<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }

    /// The principal of an SSL client certificate's subject, set when the TLS handshake completes. On SASL_SSL the
    /// SASL identity wins, as in Kafka.
    package func certificateAuthenticated(subject: String?) -> Bool {
        guard !security.securityProtocol.usesSASL, let subject else { return true }
        guard let name = security.principalRules.principalName(forSubject: subject) else { return false }
        state.withLock { $0.principal = KafkaPrincipal(name: name) }
        return true
    }
}
