import Coordinator
#if canImport(Glibc)
import Glibc
#endif
import Framing
import Logging
import NIOCore
import ZooKeeperProtocol

/// One client connection: passes each frame to the coordinator engine in order, and answers a four-letter word
/// (four raw ASCII bytes as the very first thing on the connection) with plain text before closing.
///
/// A frame the decoder refuses (negative length, over `jute.maxbuffer`) closes this connection only. Lives on its
/// channel's event loop (not Sendable); the engine is reached through ``EngineHandle``.
final class ZooKeeperConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let engine: EngineHandle
    private let logger: Logger
    private let maxFrameBytes: Int
    private let id: ConnectionID
    private var isFirstMessage = true
    private var isClosing = false

    /// - Parameter id: the connection's id, when another handler of the pipeline needs it too (TLS identity).
    init(engine: EngineHandle, logger: Logger, maxFrameBytes: Int, id: ConnectionID? = nil) {
        self.engine = engine
        self.logger = logger
        self.maxFrameBytes = maxFrameBytes
        self.id = id ?? engine.allocateID()
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let id = self.id
        engine.execute { $0.opened(id, channel: channel) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let id = self.id
        engine.execute { $0.closed(id) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        let frame = unwrapInboundIn(data)
        if isFirstMessage {
            isFirstMessage = false
            if let word = Self.fourLetterWord(frame) {
                answer(word, context: context)
                return
            }
        }
        let id = self.id
        engine.execute { $0.receive(frame, from: id) }
    }

    /// The first four bytes as a four-letter word, if they are one (the decoder's hook passed them on raw).
    private static func fourLetterWord(_ frame: ByteBuffer) -> String? {
        guard let value = frame.getInteger(at: frame.readerIndex, as: UInt32.self),
              FourLetterWord.isKnown(firstBytes: value)
        else { return nil }
        return frame.getString(at: frame.readerIndex, length: 4)
    }

    private func answer(_ word: String, context: ChannelHandlerContext) {
        isClosing = true
        let channel = context.channel
        engine.submit { $0.fourLetterWord(word) }.whenComplete { result in
            guard case .success(let text) = result else {
                channel.close(promise: nil)
                return
            }
            channel.writeAndFlush(ByteBuffer(string: text)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !isClosing else { return }
        isClosing = true
        if let frameError = error as? FrameError {
            logger.warning("closing connection", metadata: [
                "client": "\(context.remoteAddress.map { "\($0)" } ?? "?")",
                "reason": "\(frameError) (jute.maxbuffer allows frames up to \(maxFrameBytes) bytes)",
            ])
        } else if let io = error as? IOError, [ECONNRESET, EPIPE].contains(io.errnoCode) {
            // The client went away; nothing to report.
        } else {
            logger.warning("closing connection", metadata: ["reason": "\(error)"])
        }
        context.close(promise: nil)
    }
}
