import Framing
import KafkaProtocol
import Logging
import NIOCore

/// One client connection: receives request frames, runs them through the broker on the connection's
/// ``SerialWorkQueue``, and writes the responses back strictly in request order, as Kafka clients require (they
/// pipeline requests and match responses by order as well as correlation id).
///
/// A response that is ready early (a produce behind a parked fetch) waits for the ones before it. With too many
/// requests outstanding the handler stops reading from the socket until responses drain, so a fast client cannot
/// make the broker queue unbounded work.
///
/// Lives on its channel's event loop (not Sendable); work on other threads reaches it through `NIOLoopBound`.
final class KafkaConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = IOData

    private static let maxInFlight = 256

    private let broker: Broker
    private let queue: SerialWorkQueue
    private let logger: Logger
    private var clientHost = "unknown"
    private var remoteDescription = "unknown"
    private var nextSequence: UInt64 = 0
    private var nextToSend: UInt64 = 0
    /// Finished responses not yet written, by sequence number; a nil value means "no response" (acks=0).
    private var finished: [UInt64: [IOData]?] = [:]
    private var inFlight = 0
    private var readingPaused = false
    private var isClosing = false

    init(broker: Broker, queue: SerialWorkQueue, logger: Logger) {
        self.broker = broker
        self.queue = queue
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        if let remote = context.remoteAddress {
            clientHost = remote.ipAddress ?? "unknown"
            remoteDescription = "\(remote)"
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        let frame = unwrapInboundIn(data)
        let sequence = nextSequence
        nextSequence += 1
        inFlight += 1
        if inFlight >= Self.maxInFlight && !readingPaused {
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let boundContext = NIOLoopBound(context, eventLoop: loop)
        let broker = self.broker
        let host = clientHost
        queue.submit {
            let outcome = broker.handle(frame: frame, clientHost: host, eventLoop: loop)
            switch outcome {
            case .response(let parts):
                loop.execute { handler.value.deliver(sequence, parts, context: boundContext.value) }
            case .noResponse:
                loop.execute { handler.value.deliver(sequence, nil, context: boundContext.value) }
            case .deferred(let future):
                future.hop(to: loop).whenComplete { result in
                    switch result {
                    case .success(let parts): handler.value.deliver(sequence, parts, context: boundContext.value)
                    case .failure(let error): handler.value.close(context: boundContext.value, reason: "request failed: \(error)")
                    }
                }
            case .close(let reason):
                loop.execute { handler.value.close(context: boundContext.value, reason: reason) }
            }
        }
    }

    /// Records a finished response and writes every response that is now next in order.
    private func deliver(_ sequence: UInt64, _ parts: [IOData]?, context: ChannelHandlerContext) {
        guard !isClosing else { return }
        finished[sequence] = .some(parts)
        var wrote = false
        while let entry = finished.removeValue(forKey: nextToSend) {
            if let parts = entry {
                for part in parts { context.write(wrapOutboundOut(part), promise: nil) }
                wrote = true
            }
            nextToSend += 1
            inFlight -= 1
        }
        if wrote { context.flush() }
        if readingPaused && inFlight < Self.maxInFlight / 2 {
            readingPaused = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            context.read()
        }
    }

    private func close(context: ChannelHandlerContext, reason: String) {
        guard !isClosing else { return }
        isClosing = true
        logger.warning("closing connection", metadata: ["client": "\(remoteDescription)", "reason": "\(reason)"])
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let frameError = error as? FrameError {
            close(context: context, reason: "\(frameError) (socket.request.max.bytes is \(broker.config.socketRequestMaxBytes))")
        } else if let io = error as? IOError, [ECONNRESET, EPIPE].contains(io.errnoCode) {
            context.close(promise: nil)
        } else {
            close(context: context, reason: "\(error)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
