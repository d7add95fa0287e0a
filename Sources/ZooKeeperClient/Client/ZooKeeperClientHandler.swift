import Coordinator
import NIOCore
import ZooKeeperProtocol

/// A request on its way to the server and the promise its reply (the whole frame) completes.
struct ClientPacket: Sendable {
    var xid: Int32
    var frame: ByteBuffer
    var promise: EventLoopPromise<ByteBuffer>
}

/// The client side of one connection: the handshake, request/reply matching, pings and watch notifications.
///
/// Replies come back in request order, so they are matched first-in first-out and checked by xid. Notifications
/// (xid −1) go to `onEvent` before the promise of any later reply completes, which keeps ZooKeeper's guarantee that a
/// watch event arrives before the reply of the write that fired it. An idle state handler in front of this one
/// reports write-idleness (send a ping, a third of the session timeout) and read-idleness (two thirds without hearing
/// anything: the connection is dead, as the Java client decides). Lives on its channel's event loop.
final class ZooKeeperClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ClientPacket
    typealias OutboundOut = ByteBuffer

    private let connect: ConnectRequest
    private let handshake: EventLoopPromise<ConnectResponse>
    private let onEvent: @Sendable (WatcherEvent) -> Void
    private var handshakeDone = false
    private var pending = CircularBuffer<ClientPacket>()
    private var failure: ZooKeeperClientError?

    /// - Parameter connect: sent as soon as the connection is up.
    init(connect: ConnectRequest, handshake: EventLoopPromise<ConnectResponse>, onEvent: @escaping @Sendable (WatcherEvent) -> Void) {
        self.connect = connect
        self.handshake = handshake
        self.onEvent = onEvent
    }

    func channelActive(context: ChannelHandlerContext) {
        var payload = ByteBuffer()
        connect.write(to: &payload)
        context.writeAndFlush(wrapOutboundOut(Self.framed(payload)), promise: nil)
        context.fireChannelActive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let packet = unwrapOutboundIn(data)
        if let failure {
            packet.promise.fail(failure)
            promise?.succeed()
            return
        }
        pending.append(packet)
        context.write(wrapOutboundOut(Self.framed(packet.frame)), promise: promise)
    }

    static func framed(_ payload: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(payload.readableBytes + 4)
        buffer.writeInteger(Int32(payload.readableBytes))
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard handshakeDone else {
            handshakeDone = true
            do {
                handshake.succeed(try ConnectResponse(decoding: frame))
            } catch {
                handshake.fail(ZooKeeperClientError.malformedResponse("ConnectResponse: \(error)"))
                context.close(promise: nil)
            }
            return
        }
        var reader = JuteReader(frame)
        guard let header = try? ReplyHeader(from: &reader) else {
            fail(context: context, .malformedResponse("a reply shorter than its header"))
            return
        }
        switch header.xid {
        case SpecialXid.notification:
            guard let event = try? WatcherEvent(from: &reader) else {
                fail(context: context, .malformedResponse("undecodable watch notification"))
                return
            }
            onEvent(event)
        case SpecialXid.ping:
            break
        case SpecialXid.auth where pending.first?.xid != SpecialXid.auth:
            break
        default:
            guard let packet = pending.popFirst() else {
                fail(context: context, .malformedResponse("reply xid \(header.xid) with no request outstanding"))
                return
            }
            guard packet.xid == header.xid else {
                let error = ZooKeeperClientError.malformedResponse("reply xid \(header.xid), expected \(packet.xid)")
                packet.promise.fail(error)
                fail(context: context, error)
                return
            }
            packet.promise.succeed(frame)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch idle {
        case .write where handshakeDone:
            var ping = ByteBuffer()
            RequestHeader(xid: SpecialXid.ping, type: .ping).write(to: &ping)
            context.writeAndFlush(wrapOutboundOut(Self.framed(ping)), promise: nil)
        case .read:
            fail(context: context, .connectionLoss("no reply from the server for two thirds of the session timeout"))
        default:
            break
        }
    }

    private func fail(context: ChannelHandlerContext, _ error: ZooKeeperClientError) {
        failure = failure ?? error
        while let packet = pending.popFirst() { packet.promise.fail(error) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = failure ?? .connectionLoss("the server closed the connection")
        failure = error
        if !handshakeDone {
            handshakeDone = true
            handshake.fail(error)
        }
        while let packet = pending.popFirst() { packet.promise.fail(error) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, .connectionLoss("\(error)"))
    }
}
