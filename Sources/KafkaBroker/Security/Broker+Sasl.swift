import KafkaProtocol
import KafkaSecurity
import NIOCore
import Timekeeping

// SaslHandshake (key 17) v0-1 and SaslAuthenticate (key 36) v0-2, as Kafka's SaslServerAuthenticator:
// - On a SASL listener nothing but ApiVersions and SaslHandshake is served before authentication; any other request
//   closes the connection (no response), as Kafka does.
// - SaslHandshake v0 is followed by raw tokens (length-prefixed, no header); v1 by SaslAuthenticate requests.
// - A failed authentication is answered (error 58 with Kafka's message) after connection.failed.authentication.delay.ms
//   and the connection is closed.
// - KIP-368: with connections.max.reauth.ms the session ends after that long; the client re-authenticates with the
//   same mechanism and principal, and any other request after the end closes the connection.
extension Broker {
    /// Decides what an unauthenticated or expired SASL connection may send. Nil: handle the frame normally.
    func saslGate(frame: ByteBuffer, session: ConnectionSession, eventLoop: any EventLoop) -> RequestOutcome? {
        guard session.security.securityProtocol.usesSASL else { return nil }
        let now = clock.wallClockMs()
        enum Gate { case open, raw, authenticating, expired }
        let gate: Gate = session.withState { state in
            switch state.phase {
            case .open:
                if let expiry = state.sessionExpiresAtMs, now > expiry { return .expired }
                return .open
            case .awaitingHandshake: return .authenticating
            case .exchanging(let exchange): return exchange.rawTokens ? .raw : .authenticating
            }
        }
        switch gate {
        case .open:
            return nil
        case .raw:
            return handleRawSaslToken(frame, session: session, eventLoop: eventLoop)
        case .authenticating:
            guard let peek = RequestHeader.peek(frame) else {
                return .close(reason: "frame of \(frame.readableBytes) bytes during SASL authentication is not a Kafka request")
            }
            if [ApiKey.apiVersions, .saslHandshake, .saslAuthenticate].contains(peek.apiKey) { return nil }
            return .close(reason: "unexpected \(peek.apiKey) request during SASL authentication (the client must authenticate first)")
        case .expired:
            if RequestHeader.peek(frame)?.apiKey == .saslHandshake { return nil }
            return .close(reason: "the SASL session expired (connections.max.reauth.ms) and the client did not re-authenticate")
        }
    }

    func handleSaslHandshake(_ request: SaslHandshakeRequest, _ context: RequestContext) -> RequestOutcome {
        let session = context.session
        let enabled = session.security.saslMechanisms
        let names = enabled.map(\.rawValue)
        guard session.security.securityProtocol.usesSASL else {
            return context.respond(SaslHandshakeResponse(errorCode: ErrorCode.illegalSaslState.rawValue, mechanisms: []))
        }
        let now = clock.wallClockMs()
        enum Decision { case start(reauth: Bool), illegal, unsupported }
        let mechanism = SaslMechanism(name: request.mechanism).flatMap { enabled.contains($0) ? $0 : nil }
        let decision: Decision = session.withState { state in
            var reauth = false
            switch state.phase {
            case .awaitingHandshake:
                break
            case .open:
                // Re-authentication: only with a session lifetime, at most once a second (Kafka's rule).
                guard state.sessionExpiresAtMs != nil, state.reauthStartedAtMs.map({ now - $0 >= 1000 }) ?? true else { return .illegal }
                state.reauthStartedAtMs = now
                reauth = true
            case .exchanging:
                return .illegal
            }
            guard let mechanism else { return .unsupported }
            state.phase = .exchanging(.init(
                mechanism: mechanism, rawTokens: context.version == 0,
                scram: mechanism.scram.map { ScramServerExchange(mechanism: $0) }, reauthenticating: reauth))
            return .start(reauth: reauth)
        }
        switch decision {
        case .start:
            return context.respond(SaslHandshakeResponse(errorCode: 0, mechanisms: names))
        case .illegal:
            return context.respond(SaslHandshakeResponse(errorCode: ErrorCode.illegalSaslState.rawValue, mechanisms: []))
        case .unsupported:
            security.logFailedAuthentication(client: session.clientAddress, listener: session.listenerName,
                                             mechanism: request.mechanism, reason: "mechanism not enabled", nowMs: now)
            let response = SaslHandshakeResponse(errorCode: ErrorCode.unsupportedSaslMechanism.rawValue, mechanisms: names)
            return .respondThenClose(context.frame(response), delayMs: config.connectionFailedAuthenticationDelayMs,
                                     reason: "unsupported SASL mechanism '\(request.mechanism)' (enabled: \(names.joined(separator: ", ")))")
        }
    }

    func handleSaslAuthenticate(_ request: SaslAuthenticateRequest, _ context: RequestContext) -> RequestOutcome {
        let token = Array(request.authBytes.readableBytesView)
        switch step(token: token, session: context.session) {
        case .illegal where !context.session.isAuthenticated:
            // Kafka closes a connection that sends SaslAuthenticate before SaslHandshake.
            return .close(reason: "SaslAuthenticate before SaslHandshake")
        case .illegal:
            return context.respond(SaslAuthenticateResponse(
                errorCode: ErrorCode.illegalSaslState.rawValue,
                errorMessage: "SaslAuthenticate request received after successful authentication", authBytes: ByteBuffer()))
        case .challenge(let bytes):
            return context.respond(SaslAuthenticateResponse(errorCode: 0, errorMessage: nil, authBytes: ByteBuffer(bytes: bytes)))
        case .authenticated(let bytes, let lifetimeMs):
            return context.respond(SaslAuthenticateResponse(
                errorCode: 0, errorMessage: nil, authBytes: ByteBuffer(bytes: bytes), sessionLifetimeMs: lifetimeMs))
        case .failed(let message):
            let response = SaslAuthenticateResponse(
                errorCode: ErrorCode.saslAuthenticationFailed.rawValue, errorMessage: message, authBytes: ByteBuffer())
            return .respondThenClose(context.frame(response), delayMs: config.connectionFailedAuthenticationDelayMs,
                                     reason: "SASL authentication failed: \(message)")
        }
    }

    /// A token after SaslHandshake v0: answered with a bare length-prefixed token; a failure closes the connection.
    private func handleRawSaslToken(_ frame: ByteBuffer, session: ConnectionSession, eventLoop: any EventLoop) -> RequestOutcome {
        func raw(_ bytes: [UInt8]) -> [IOData] {
            var buffer = ByteBuffer()
            buffer.writeInteger(Int32(bytes.count))
            buffer.writeBytes(bytes)
            return [.byteBuffer(buffer)]
        }
        switch step(token: Array(frame.readableBytesView), session: session) {
        case .illegal: return .close(reason: "SASL token outside an exchange")
        case .challenge(let bytes): return .response(raw(bytes))
        case .authenticated(let bytes, _): return .response(raw(bytes))
        case .failed(let message):
            return .respondThenClose(nil, delayMs: config.connectionFailedAuthenticationDelayMs,
                                     reason: "SASL authentication failed: \(message)")
        }
    }

    private enum SaslStep {
        case illegal
        case challenge([UInt8])
        case authenticated([UInt8], lifetimeMs: Int64)
        case failed(String)
    }

    /// Runs one token through the connection's exchange and moves the session on.
    private func step(token: [UInt8], session: ConnectionSession) -> SaslStep {
        let now = clock.wallClockMs()
        let lifetime = config.connectionsMaxReauthMs
        let result: (SaslStep, failure: String?, mechanism: SaslMechanism?) = session.withState { state in
            guard case .exchanging(var exchange) = state.phase else { return (.illegal, nil, nil) }
            let mechanism = exchange.mechanism
            func fail(_ message: String) -> (SaslStep, String?, SaslMechanism?) {
                state.phase = .awaitingHandshake
                return (.failed(message), message, mechanism)
            }
            if exchange.reauthenticating, let previous = state.mechanism, previous != mechanism {
                return fail("SASL mechanism '\(mechanism)' requested by client is not supported for re-authentication of mechanism '\(previous)'")
            }
            let user: String
            var final: [UInt8] = []
            if let scram = exchange.scram {
                var running = scram
                switch running.receive(token, credential: { self.security.scramCredential(user: $0, mechanism: scram.mechanism) }) {
                case .failure(let failure): return fail(failure.description)
                case .success(.challenge(let bytes)):
                    exchange.scram = running
                    state.phase = .exchanging(exchange)
                    return (.challenge(bytes), nil, mechanism)
                case .success(.success(let name, let bytes)):
                    user = name
                    final = bytes
                }
            } else {
                switch PlainSasl.authenticate(token, users: session.security.plainUsers) {
                case .failure(let failure):
                    if case .invalidCredentials = failure { return fail("Authentication failed: Invalid username or password") }
                    return fail(failure.description)
                case .success(let name): user = name
                }
            }
            let principal = KafkaPrincipal(name: user)
            if exchange.reauthenticating && principal != state.principal {
                return fail("Cannot change principals during re-authentication from \(state.principal.type).\(state.principal.name): \(principal.type).\(principal.name)")
            }
            state.principal = principal
            state.mechanism = mechanism
            state.phase = .open
            state.sessionExpiresAtMs = lifetime > 0 ? now + lifetime : nil
            return (.authenticated(final, lifetimeMs: lifetime), nil, mechanism)
        }
        if let failure = result.failure {
            security.logFailedAuthentication(client: session.clientAddress, listener: session.listenerName,
                                             mechanism: result.mechanism?.rawValue ?? "?", reason: failure, nowMs: now)
        } else if case .authenticated = result.0 {
            session.frameLimit?.set(config.socketRequestMaxBytes)
        }
        return result.0
    }
}
