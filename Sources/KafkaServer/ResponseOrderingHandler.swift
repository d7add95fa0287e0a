import KafkaBroker
import NIOCore

/// A request frame with its place in the connection's order.
struct SequencedRequest {
    var sequence: UInt64
    var frame: ByteBuffer
}

/// The answer to request `sequence`: the frame's parts (nil: no response, as for a Produce with acks=0), and
/// optionally a reason to close the connection once it is written (a failed authentication).
struct SequencedResponse {
    var sequence: UInt64
    var parts: [IOData]?
    var closeAfterwards: String?
    /// The request's API timers and arrival: its total time is recorded when the response is written.
    var timing: RequestTiming?
}

/// A request's arrival and its API's timers, carried to where the response leaves.
struct RequestTiming {
    var api: ApiMetrics
    var receivedAt: NIODeadline

    /// Kafka's TotalTimeMs: arrival to response written, waits behind earlier responses and long polls included.
    func recordTotal() {
        api.totalTime.recordNanoseconds((NIODeadline.now() - receivedAt).nanoseconds)
    }
}

/// Kafka's connection discipline, on its own: responses leave strictly in request order, and a client with too many
/// requests outstanding is not read from until responses drain.
///
/// Kafka clients pipeline requests and match responses by order as well as correlation id, so a response that is
/// ready early (a Produce behind a parked Fetch) waits for the ones before it. With `maxInFlight` requests
/// outstanding, reading stops (autoRead off), so a fast client cannot make the broker queue unbounded work; it
/// resumes once fewer than half are outstanding. A connection idle for `connections.max.idle.ms` (the `IdleStateHandler`'s
/// event) is closed only when nothing is outstanding.
///
/// Inbound it numbers frames (`ByteBuffer` in, ``SequencedRequest`` out); outbound it takes ``SequencedResponse``s
/// in any order and writes their parts in request order. Lives on its channel's event loop.
final class ResponseOrderingHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = SequencedRequest
    typealias OutboundIn = SequencedResponse
    typealias OutboundOut = IOData

    let maxInFlight: Int
    private let idleReason: String
    private let onClose: (String) -> Void
    private var nextSequence: UInt64 = 0
    private var nextToSend: UInt64 = 0
    /// Finished responses not yet written, by sequence number.
    private var finished: [UInt64: SequencedResponse] = [:]
    /// Requests received and not yet answered (or answered but waiting for an earlier one).
    private(set) var inFlight = 0
    private(set) var readingPaused = false
    private var closed = false

    /// - Parameters:
    ///   - idleReason: logged (through `onClose`) when an idle connection is closed.
    ///   - onClose: told why, whenever this handler closes the connection.
    init(maxInFlight: Int = 256, idleReason: String = "idle", onClose: @escaping (String) -> Void = { _ in }) {
        precondition(maxInFlight >= 2)
        self.maxInFlight = maxInFlight
        self.idleReason = idleReason
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        let request = SequencedRequest(sequence: nextSequence, frame: unwrapInboundIn(data))
        nextSequence += 1
        inFlight += 1
        if inFlight >= maxInFlight && !readingPaused {
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
        context.fireChannelRead(wrapInboundOut(request))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let response = unwrapOutboundIn(data)
        precondition(response.sequence < nextSequence && finished[response.sequence] == nil && response.sequence >= nextToSend,
                     "a response for request \(response.sequence), which is not outstanding")
        promise?.succeed()
        guard !closed else { return }
        finished[response.sequence] = response
        var wrote = false
        while let next = finished.removeValue(forKey: nextToSend) {
            for part in next.parts ?? [] {
                context.write(wrapOutboundOut(part), promise: nil)
                wrote = true
            }
            nextToSend += 1
            inFlight -= 1
            next.timing?.recordTotal()
            if let reason = next.closeAfterwards {
                close(context: context, reason: reason, flushing: wrote)
                return
            }
        }
        if wrote { context.flush() }
        if readingPaused && inFlight < maxInFlight / 2 {
            readingPaused = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            context.read()
        }
    }

    /// Responses are flushed as they are released; a flush from behind adds nothing.
    func flush(context: ChannelHandlerContext) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .all {
            if inFlight == 0 { close(context: context, reason: idleReason, flushing: false) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func close(context: ChannelHandlerContext, reason: String, flushing: Bool) {
        guard !closed else { return }
        closed = true
        finished = [:]
        onClose(reason)
        if flushing { context.flush() }
        context.close(promise: nil)
    }
}
