import Framing
import KafkaBroker
import KafkaProtocol
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import X509

/// One client connection: runs its request frames through the broker on the connection's ``SerialWorkQueue``
/// (one at a time, in order) and hands each outcome back as a ``SequencedResponse``; the
/// ``ResponseOrderingHandler`` in front of it writes them in request order and applies backpressure. It also owns
/// the connection's security at the transport: the TLS handshake, the client certificate's principal, and the
/// deadline to authenticate.
///
/// Lives on its channel's event loop (not Sendable); work on other threads reaches it through `NIOLoopBound`.
final class KafkaConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = SequencedRequest
    typealias OutboundOut = SequencedResponse

    private let broker: Broker
    private let queue: SerialWorkQueue
    private let logger: Logger
    private let session: ConnectionSession
    /// TLS cannot use sendfile: file regions of fetch responses are read into memory once, then encrypted.
    private let copiesFileRegions: Bool
    private var remoteDescription = "unknown"
    private var isClosing = false
    private var tlsHandshakeDone = false
    private var authenticationDeadline: Scheduled<Void>?

    init(broker: Broker, queue: SerialWorkQueue, logger: Logger, session: ConnectionSession) {
        self.broker = broker
        self.queue = queue
        self.logger = logger
        self.session = session
        copiesFileRegions = session.security.securityProtocol.usesTLS
        remoteDescription = session.clientAddress
    }

    func channelActive(context: ChannelHandlerContext) {
        // A client that never finishes the TLS handshake or SASL authentication is disconnected, so idle or stalled
        // connections cannot pile up on a secured listener.
        let security = session.security
        if security.securityProtocol.usesTLS || security.securityProtocol.usesSASL {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            let deadline = broker.config.authenticationTimeoutMs
            authenticationDeadline = context.eventLoop.scheduleTask(in: .milliseconds(deadline)) {
                let handler = handler.value
                let done = handler.session.isAuthenticated && (!security.securityProtocol.usesTLS || handler.tlsHandshakeDone)
                if !done && !handler.isClosing {
                    handler.close(context: boundContext.value, reason: "the client did not authenticate within \(deadline) ms")
                }
            }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        authenticationDeadline?.cancel()
        authenticationDeadline = nil
        context.fireChannelInactive()
    }

    /// On an SSL listener with client certificates, the certificate's subject becomes the principal once the TLS
    /// handshake is done (before any request can arrive).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { tlsHandshakeDone = true }
        if case .handshakeCompleted? = event as? TLSUserEvent, session.security.clientAuth != .none {
            let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            let subject = handler?.peerCertificate.flatMap { certificate -> String? in
                guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
                return parsed.subject.description
            }
            if !session.certificateAuthenticated(subject: subject) {
                close(context: context, reason: "no ssl.principal.mapping.rules rule matches the client certificate subject \(subject ?? "?")")
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        let request = unwrapInboundIn(data)
        let (sequence, frame) = (request.sequence, request.frame)
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let boundContext = NIOLoopBound(context, eventLoop: loop)
        let broker = self.broker
        let session = self.session
        let copies = copiesFileRegions
        let receivedAt: NIODeadline? = broker.metrics.isEnabled ? .now() : nil
        queue.submit {
            let (outcome, api) = broker.handle(frame: frame, session: session, eventLoop: loop, receivedAt: receivedAt)
            let timing = api.flatMap { api in receivedAt.map { RequestTiming(api: api, receivedAt: $0) } }
            switch outcome {
            case .response(let parts):
                let ready = copies ? Self.copyingFileRegions(parts) : parts
                loop.execute {
                    guard let ready else {
                        handler.value.close(context: boundContext.value, reason: "a fetched segment could not be read for TLS")
                        return
                    }
                    handler.value.deliver(sequence, ready, context: boundContext.value, timing: timing)
                }
            case .noResponse:
                loop.execute { handler.value.deliver(sequence, nil, context: boundContext.value, timing: timing) }
            case .deferred(let future):
                future.hop(to: loop).whenComplete { result in
                    switch result {
                    case .success(let parts):
                        guard let ready = copies ? Self.copyingFileRegions(parts) : parts else {
                            handler.value.close(context: boundContext.value, reason: "a fetched segment could not be read for TLS")
                            return
                        }
                        handler.value.deliver(sequence, ready, context: boundContext.value, timing: timing)
                    case .failure(let error): handler.value.close(context: boundContext.value, reason: "request failed: \(error)")
                    }
                }
            case .close(let reason):
                loop.execute { handler.value.close(context: boundContext.value, reason: reason) }
            case .respondThenClose(let parts, let delayMs, let reason):
                loop.scheduleTask(in: .milliseconds(delayMs)) {
                    handler.value.deliver(sequence, parts, context: boundContext.value, thenClose: reason, timing: timing)
                }
            }
        }
    }

    /// Replaces file regions by their bytes (one read each), for TLS, which must see the bytes to encrypt them.
    /// Nil when a region could not be read whole (the segment was deleted or truncated under the fetch).
    private static func copyingFileRegions(_ parts: [IOData]) -> [IOData]? {
        var result: [IOData] = []
        result.reserveCapacity(parts.count)
        for part in parts {
            guard case .fileRegion(let region) = part else {
                result.append(part)
                continue
            }
            var buffer = ByteBufferAllocator().buffer(capacity: region.readableBytes)
            let wanted = region.readableBytes
            let read = (try? region.fileHandle.withUnsafeFileDescriptor { fd -> Int in
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer in
                    var done = 0
                    while done < wanted {
                        let count = pread(fd, pointer.baseAddress! + done, wanted - done, off_t(region.readerIndex + done))
                        if count <= 0 { break }
                        done += count
                    }
                    return done
                }
            }) ?? 0
            // A short read cannot be sent as part of a response whose size is already written: the frame would be torn.
            guard read == wanted else { return nil }
            result.append(.byteBuffer(buffer))
        }
        return result
    }

    /// Hands a finished response to the ``ResponseOrderingHandler``, which writes it in its turn; with `thenClose`,
    /// the connection is closed once it is written.
    private func deliver(
        _ sequence: UInt64, _ parts: [IOData]?, context: ChannelHandlerContext, thenClose: String? = nil, timing: RequestTiming?
    ) {
        guard !isClosing else { return }
        context.write(wrapOutboundOut(SequencedResponse(sequence: sequence, parts: parts, closeAfterwards: thenClose, timing: timing)),
                      promise: nil)
    }

    private func close(context: ChannelHandlerContext, reason: String) {
        guard !isClosing else { return }
        isClosing = true
        logger.warning("closing connection", metadata: ["client": "\(remoteDescription)", "reason": "\(reason)"])
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let frameError = error as? FrameError {
            let limit = session.isAuthenticated ? "socket.request.max.bytes is \(broker.config.socketRequestMaxBytes)"
                : "sasl.server.max.receive.size is \(broker.config.saslServerMaxReceiveSize) before authentication"
            close(context: context, reason: "\(frameError) (\(limit))")
        } else if error is NIOSSLError {
            close(context: context, reason: "TLS handshake failed: \(Self.explainTLS(error))")
        } else if let io = error as? IOError, [ECONNRESET, EPIPE].contains(io.errnoCode) {
            context.close(promise: nil)
        } else {
            close(context: context, reason: "\(error)")
        }
    }
}

extension KafkaConnectionHandler {
    /// BoringSSL's reason codes in words: who did not trust whom.
    static func explainTLS(_ error: any Error) -> String {
        let text = "\(error)"
        let known: [(String, String)] = [
            ("TLSV1_ALERT_UNKNOWN_CA", "the client does not trust this broker's certificate (its CA is unknown to the client)"),
            ("CERTIFICATE_VERIFY_FAILED", "the client's certificate is not signed by a CA in ssl.truststore.location"),
            ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "the client sent no certificate, and ssl.client.auth=required"),
            ("WRONG_VERSION_NUMBER", "the client does not speak TLS (a PLAINTEXT client on a TLS listener?)"),
            ("HTTP_REQUEST", "the client sent HTTP to a TLS listener"),
            ("UNSUPPORTED_PROTOCOL", "the client offered only TLS versions older than 1.2"),
            ("NO_SHARED_CIPHER", "the client and the broker share no cipher suite"),
        ]
        for (code, meaning) in known where text.contains(code) { return "\(meaning) [\(code)]" }
        return text
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
