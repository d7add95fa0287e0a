import Framing
import KafkaProtocol
import KafkaSecurity
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection to one Kafka broker (ours or any other), with requests pipelined.
///
/// On connect it negotiates versions with ApiVersions: for every API, the highest version both sides support, so
/// the client works with older and newer brokers alike. Responses are matched to requests in order (Kafka answers in
/// order) and checked by correlation id. A request that gets no answer in time fails, and the connection is closed,
/// because every response behind it would be stale.
///
/// Thread-safe.
public final class BrokerConnection: Sendable {
    public let address: BrokerAddress
    let channel: any Channel
    let clientId: String
    private let state = Mutex<(correlation: Int32, versions: [Int16: ClosedRange<Int16>])>((0, [:]))
    /// SASL credentials, kept to re-authenticate (KIP-368) when the broker limits the session's lifetime.
    private let credentials: ClientSecurity.SaslCredentials?
    private let reauthentication = Mutex(ReauthenticationState())

    /// Requests pass a gate: while a re-authentication runs, new requests wait, and it starts only once the requests
    /// before it are answered, because a broker takes nothing but SaslHandshake/SaslAuthenticate in between.
    private struct ReauthenticationState {
        var due = false
        var running = false
        var inFlight = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var drained: CheckedContinuation<Void, Never>?
    }

    private init(address: BrokerAddress, channel: any Channel, clientId: String, credentials: ClientSecurity.SaslCredentials?) {
        self.address = address
        self.channel = channel
        self.clientId = clientId
        self.credentials = credentials
    }

    /// Connects, negotiates API versions and, on SASL listeners, authenticates. With TLS the handshake (and the
    /// broker certificate's verification) happens before the first request.
    public static func connect(
        to address: BrokerAddress, group: any EventLoopGroup, clientId: String, security: ClientSecurity = .plaintext,
        timeout: TimeAmount = .seconds(10)
    ) async throws -> BrokerConnection {
        let channel: any Channel
        let handshake = TLSHandshakeWatcher()
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls = security.tls {
                            // An IP address is checked against the certificate's IP names; a host name also goes in SNI.
                            let isIP = (try? SocketAddress(ipAddress: address.host, port: 0)) != nil
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : address.host))
                            try channel.pipeline.syncOperations.addHandler(handshake)
                        }
                        // Fetch responses of megabytes land in reused buffers: one being read while the last is
                        // processed.
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(
                            LengthPrefixedFrameDecoder(maxFrameBytes: Int(Int32.max), reusesLargeFrameBuffers: true)))
                        try channel.pipeline.syncOperations.addHandler(KafkaClientHandler())
                    }
                }
                .connect(host: address.host, port: address.port).get()
        } catch {
            throw KafkaClientError.unreachable(servers: [address.description], reason: ConnectFailure.describe(error))
        }
        let connection = BrokerConnection(address: address, channel: channel, clientId: clientId, credentials: security.sasl)
        do {
            if security.tls != nil {
                // Wait for the handshake, so a refused certificate is reported as such rather than as a closed connection.
                do {
                    try await handshake.done(on: channel.eventLoop).get()
                } catch {
                    throw KafkaClientError.connectionClosed("\(error)")
                }
            }
            try await connection.negotiateVersions()
            if let credentials = security.sasl {
                connection.scheduleReauthentication(lifetimeMs: try await connection.authenticate(credentials))
            }
        } catch let error as KafkaClientError {
            connection.close()
            throw security.tls != nil ? Self.explainTLS(error, address: address) : error
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// A TLS failure shows up as the connection closing with an NIOSSL error: say what it means.
    static func explainTLS(_ error: KafkaClientError, address: BrokerAddress) -> KafkaClientError {
        guard case .connectionClosed(let text) = error else { return error }
        let lowered = text.lowercased()
        let reason: String
        if lowered.contains("certificate_verify_failed") || lowered.contains("certificate verify failed") {
            reason = "the broker's certificate is not trusted (set ssl.ca.location to the PEM of the CA that signed it)"
        } else if lowered.contains("failedtovalidatehostname") || lowered.contains("hostname") {
            reason = "the broker's certificate does not name \(address.host) (or set ssl.endpoint.identification.algorithm= to skip the check)"
        } else if lowered.contains("certificate_required") || lowered.contains("handshake_failure") || lowered.contains("alert") {
            reason = "the broker refused the TLS handshake (a client certificate it trusts may be required: ssl.certificate.location, ssl.key.location): \(text)"
        } else if lowered.contains("wrong_version_number") || lowered.contains("http_request") || lowered.contains("unexpectedeof") {
            reason = "the broker did not answer TLS (is this a PLAINTEXT or SASL_PLAINTEXT listener?): \(text)"
        } else {
            // Anything else (a reset or unclean shutdown while the broker restarts) is a lost connection, which callers
            // retry, not a TLS refusal, which they must not.
            return error
        }
        return .tlsFailed(broker: address.description, reason: reason)
    }

    /// SaslHandshake v1 then SaslAuthenticate (PLAIN: one message; SCRAM: client-first, client-final, and the broker's
    /// signature is checked so a fake broker is noticed). Returns the session lifetime the broker set (0: unlimited).
    private func authenticate(_ credentials: ClientSecurity.SaslCredentials) async throws -> Int64 {
        var lifetimeMs: Int64 = 0
        let handshake = try await send(SaslHandshakeRequest(mechanism: credentials.mechanism.rawValue), version: 1, gated: false)
        if handshake.errorCode == ErrorCode.unsupportedSaslMechanism.rawValue {
            throw KafkaClientError.authenticationFailed(
                broker: address.description,
                reason: "the listener does not offer \(credentials.mechanism) (it offers \(handshake.mechanisms.joined(separator: ", ")))")
        }
        guard handshake.errorCode == 0 else {
            throw KafkaClientError.authenticationFailed(broker: address.description, reason: "SaslHandshake: \(ErrorCode(rawValue: handshake.errorCode))")
        }
        func exchange(_ token: [UInt8]) async throws -> [UInt8] {
            let response = try await send(SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: token)), gated: false)
            guard response.errorCode == 0 else {
                throw KafkaClientError.authenticationFailed(
                    broker: address.description, reason: response.errorMessage ?? "\(ErrorCode(rawValue: response.errorCode))")
            }
            lifetimeMs = response.sessionLifetimeMs
            return Array(response.authBytes.readableBytesView)
        }
        guard let scram = credentials.mechanism.scram else {
            _ = try await exchange(PlainSasl.clientMessage(username: credentials.username, password: credentials.password))
            return lifetimeMs
        }
        var client = ScramClientExchange(mechanism: scram, username: credentials.username, password: credentials.password)
        let serverFirst = try await exchange(client.firstMessage())
        let final: [UInt8]
        switch client.finalMessage(serverFirst: serverFirst) {
        case .success(let message): final = message
        case .failure(let failure): throw KafkaClientError.authenticationFailed(broker: address.description, reason: "\(failure)")
        }
        let serverFinal = try await exchange(final)
        if case .failure(let failure) = client.verify(serverFinal: serverFinal) {
            throw KafkaClientError.authenticationFailed(broker: address.description, reason: "\(failure)")
        }
        return lifetimeMs
    }

    // MARK: Re-authentication (KIP-368)

    /// Marks the session for re-authentication at 85 % of its lifetime; the next request then re-authenticates first.
    /// A broker accepts a re-authentication even after the session ended, so an idle connection just does it late.
    private func scheduleReauthentication(lifetimeMs: Int64) {
        guard lifetimeMs > 0 else { return }
        channel.eventLoop.scheduleTask(in: .milliseconds(max(lifetimeMs * 85 / 100, 1))) { [self] in
            reauthentication.withLock { $0.due = true }
        }
    }

    /// Lets a request through the gate, re-authenticating first when due.
    private func admit() async throws {
        enum Action { case go, wait, reauthenticate }
        while true {
            let action: Action = reauthentication.withLock { state in
                if state.running { return .wait }
                if state.due && credentials != nil {
                    state.due = false
                    state.running = true
                    return .reauthenticate
                }
                state.inFlight += 1
                return .go
            }
            switch action {
            case .go:
                return
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = reauthentication.withLock { state in
                        if state.running { state.waiters.append(continuation) }
                        return !state.running
                    }
                    if resumeNow { continuation.resume() }
                }
            case .reauthenticate:
                await withCheckedContinuation { continuation in
                    let drained = reauthentication.withLock { state in
                        if state.inFlight > 0 { state.drained = continuation }
                        return state.inFlight == 0
                    }
                    if drained { continuation.resume() }
                }
                var failure: (any Error)?
                do {
                    scheduleReauthentication(lifetimeMs: try await authenticate(credentials!))
                } catch {
                    failure = error
                    close()
                }
                let waiters = reauthentication.withLock { state in
                    state.running = false
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
                if let failure { throw failure }
            }
        }
    }

    private func release() {
        let drained = reauthentication.withLock { state -> CheckedContinuation<Void, Never>? in
            state.inFlight -= 1
            guard state.inFlight == 0, let drained = state.drained else { return nil }
            state.drained = nil
            return drained
        }
        drained?.resume()
    }

    public var isActive: Bool { channel.isActive }

    public func close() {
        channel.close(promise: nil)
    }

    /// Closes and waits until the channel is closed (pending requests have failed by then).
    public func closeAndWait() async {
        try? await channel.close()
    }

    private func nextCorrelationId() -> Int32 {
        state.withLock { state in
            state.correlation = state.correlation == Int32.max ? 1 : state.correlation + 1
            return state.correlation
        }
    }

    /// The highest version of `R` both this client and the broker implement.
    public func version<R: KafkaRequest>(for type: R.Type) throws(KafkaClientError) -> Int16 {
        guard let theirs = state.withLock({ $0.versions[R.apiKey.rawValue] }) else { throw .unsupportedApi(R.apiKey) }
        let ours = R.supportedVersions
        let high = min(ours.upperBound, theirs.upperBound)
        guard high >= max(ours.lowerBound, theirs.lowerBound) else { throw .unsupportedApi(R.apiKey) }
        return high
    }

    public func supports<R: KafkaRequest>(_ type: R.Type) -> Bool { (try? version(for: type)) != nil }

    /// Sends `request` at `version` (default: the negotiated one) and decodes the answer.
    public func send<R: KafkaRequest>(_ request: R, version: Int16? = nil, timeout: TimeAmount = .seconds(30)) async throws -> R.Response {
        try await send(request, version: version, timeout: timeout, gated: true)
    }

    /// `gated: false` is for the authentication exchange itself, which runs while the gate is closed.
    private func send<R: KafkaRequest>(_ request: R, version: Int16? = nil, timeout: TimeAmount = .seconds(30),
                                       gated: Bool) async throws -> R.Response {
        if gated { try await admit() }
        defer { if gated { release() } }
        let chosen = try version ?? self.version(for: R.self)
        let frame = try await roundTrip(request, version: chosen, expectsResponse: true, timeout: timeout)
        do {
            return try KafkaFrame.decodeResponse(R.Response.self, from: frame, apiKey: R.apiKey, version: chosen).response
        } catch {
            throw KafkaClientError.malformedResponse("\(R.apiKey) v\(chosen) from \(address): \(error)")
        }
    }

    /// Sends a request the broker does not answer (Produce with acks=0); returns once it is written.
    public func sendWithoutResponse<R: KafkaRequest>(_ request: R, version: Int16? = nil) async throws {
        try await admit()
        defer { release() }
        let chosen = try version ?? self.version(for: R.self)
        _ = try await roundTrip(request, version: chosen, expectsResponse: false, timeout: .seconds(30))
    }

    private func roundTrip<R: KafkaRequest>(_ request: R, version: Int16, expectsResponse: Bool, timeout: TimeAmount) async throws -> ByteBuffer {
        // A closed channel's event loop may already be shut down: scheduling the timeout there would fail loudly.
        guard channel.isActive else { throw KafkaClientError.connectionClosed("\(R.apiKey) to \(address)") }
        let correlation = nextCorrelationId()
        let header = RequestHeader(apiKey: R.apiKey, apiVersion: version, correlationId: correlation, clientId: clientId)
        let frame = KafkaFrame.requestParts(request, header: header)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let pending = PendingRequest(frame: frame, correlationId: correlation, expectsResponse: expectsResponse, promise: promise)
        let channel = self.channel
        let address = self.address
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(KafkaClientError.timeout("\(R.apiKey) v\(version) to \(address) after \(timeout.nanoseconds / 1_000_000) ms"))
            channel.close(promise: nil)
        }
        // Cancel the timer on the event loop as soon as the answer arrives (not later from this task, which may run
        // after the client shut its event loops down).
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        // A channel that closed after the check above has no handlers left to fail the request, so the write's own
        // failure must: otherwise the request would wait out its whole timeout on a dead connection.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            promise.fail(KafkaClientError.connectionClosed("\(R.apiKey) to \(address): \(error)"))
        }
        channel.writeAndFlush(pending, promise: written)
        return try await promise.futureResult.get()
    }

    /// ApiVersions: try our highest version; a broker that does not know it answers UNSUPPORTED_VERSION in the v0
    /// layout (KIP-511), and we retry at the highest version it listed.
    private func negotiateVersions() async throws {
        var version = ApiVersionsRequest.supportedVersions.upperBound
        for _ in 0..<3 {
            let request = ApiVersionsRequest(clientSoftwareName: "ledgerstream", clientSoftwareVersion: "0.1.0")
            var frame = try await roundTrip(request, version: version, expectsResponse: true, timeout: .seconds(10))
            // Response header v0 (correlation id), then an int16 error code first in every version.
            frame.moveReaderIndex(forwardBy: 4)
            let error = frame.getInteger(at: frame.readerIndex, as: Int16.self) ?? -1
            let parseVersion = error == ErrorCode.unsupportedVersion.rawValue ? Int16(0) : version
            var reader = KafkaReader(frame)
            let response: ApiVersionsResponse
            do {
                response = try ApiVersionsResponse(from: &reader, version: parseVersion)
            } catch {
                throw KafkaClientError.malformedResponse("ApiVersions from \(address): \(error)")
            }
            let versions = Dictionary(response.apiKeys.map { ($0.apiKey, $0.minVersion...max($0.minVersion, $0.maxVersion)) },
                                      uniquingKeysWith: { a, _ in a })
            if response.errorCode == ErrorCode.unsupportedVersion.rawValue, let theirs = versions[ApiKey.apiVersions.rawValue] {
                version = min(theirs.upperBound, ApiVersionsRequest.supportedVersions.upperBound)
                continue
            }
            guard response.errorCode == 0 else {
                throw KafkaClientError.broker(ErrorCode(rawValue: response.errorCode), message: "ApiVersions failed")
            }
            state.withLock { $0.versions = versions }
            return
        }
        throw KafkaClientError.unsupportedApi(.apiVersions)
    }
}

/// Completes when the TLS handshake does, or fails with its error (or when the connection closes first).
final class TLSHandshakeWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let outcome = Mutex<(result: Result<Void, any Error>?, promise: EventLoopPromise<Void>?)>((nil, nil))

    func done(on loop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        let settled: Result<Void, any Error>? = outcome.withLock { state in
            if state.result == nil { state.promise = promise }
            return state.result
        }
        if let settled { promise.completeWith(settled) }
        return promise.futureResult
    }

    private func settle(_ result: Result<Void, any Error>) {
        let promise: EventLoopPromise<Void>? = outcome.withLock { state in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.promise = nil }
            return state.promise
        }
        promise?.completeWith(result)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { settle(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        settle(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle(.failure(KafkaClientError.connectionClosed("the broker closed the connection during the TLS handshake")))
        context.fireChannelInactive()
    }
}

/// A request on its way to the socket, with the promise its response completes.
struct PendingRequest: Sendable {
    /// The request frame's parts, in order (its record batches are parts of their own, not copied).
    var frame: [ByteBuffer]
    var correlationId: Int32
    var expectsResponse: Bool
    var promise: EventLoopPromise<ByteBuffer>
}

/// Matches response frames to requests in order. Lives on the connection's event loop.
final class KafkaClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = PendingRequest
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<PendingRequest>()
    private var failure: (any Error)?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        if request.expectsResponse {
            waiting.append(request)
            write(request.frame, context: context, promise: promise)
        } else {
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { result in
                switch result {
                case .success: request.promise.succeed(ByteBuffer())
                case .failure(let error): request.promise.fail(error)
                }
            }
            written.futureResult.cascade(to: promise)
            write(request.frame, context: context, promise: written)
        }
    }

    /// Writes a frame's parts in order; `promise` completes with the last (a failed write fails every later one).
    private func write(_ parts: [ByteBuffer], context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        for part in parts.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
        context.write(wrapOutboundOut(parts.last ?? ByteBuffer()), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let request = waiting.popFirst() else {
            fail(context: context, KafkaClientError.malformedResponse("a response arrived with no request waiting"))
            return
        }
        let correlation = frame.getInteger(at: frame.readerIndex, as: Int32.self)
        guard correlation == request.correlationId else {
            let error = KafkaClientError.malformedResponse("correlation id \(correlation.map(String.init) ?? "?") does not match \(request.correlationId)")
            request.promise.fail(error)
            fail(context: context, error)
            return
        }
        request.promise.succeed(frame)
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        failure = failure ?? error
        while let request = waiting.popFirst() { request.promise.fail(error) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = failure ?? KafkaClientError.connectionClosed("\(context.remoteAddress.map { "\($0)" } ?? "broker") closed the connection")
        failure = error
        while let request = waiting.popFirst() { request.promise.fail(error) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, KafkaClientError.connectionClosed("\(error)"))
    }
}
