import NIOCore
import NIOEmbedded
import Testing

@testable import KafkaServer

/// Responses leave in request order whatever order they finish in, and a client too far ahead is not read from.
@Suite struct ResponseOrderingHandlerTests {
    func frame(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    func response(_ sequence: UInt64, _ text: String?, close: String? = nil) -> SequencedResponse {
        SequencedResponse(sequence: sequence, parts: text.map { [.byteBuffer(ByteBuffer(string: $0))] }, closeAfterwards: close)
    }

    func written(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = part else { Issue.record("a file region"); continue }
            out.append(String(buffer: buffer))
        }
        return out
    }

    @Test func requestsAreNumberedAndResponsesLeaveInRequestOrder() throws {
        let channel = EmbeddedChannel(handler: ResponseOrderingHandler())
        for text in ["a", "b", "c", "d"] { try channel.writeInbound(frame(text)) }
        let requests = (0..<4).compactMap { _ in try? channel.readInbound(as: SequencedRequest.self) }
        #expect(requests.map(\.sequence) == [0, 1, 2, 3])
        #expect(requests.map { String(buffer: $0.frame) } == ["a", "b", "c", "d"])

        try channel.writeOutbound(response(2, "C"))
        try channel.writeOutbound(response(1, "B"))
        #expect(try written(channel).isEmpty)  // 0 is not answered yet
        try channel.writeOutbound(response(0, "A"))
        #expect(try written(channel) == ["A", "B", "C"])
        // No response (acks=0) still takes its turn.
        try channel.writeInbound(frame("e"))
        try channel.writeOutbound(response(4, "E"))
        try channel.writeOutbound(response(3, nil))
        #expect(try written(channel) == ["E"])
        #expect(try channel.readInbound(as: SequencedRequest.self)?.sequence == 4)
        #expect(try channel.finish().isClean)
    }

    /// EmbeddedChannel ignores autoRead, so the test watches the handler's state and the read it asks for on resuming.
    @Test func readingPausesAtTheLimitAndResumesBelowHalf() throws {
        let handler = ResponseOrderingHandler(maxInFlight: 4)
        let reads = ReadCounter()
        let channel = EmbeddedChannel(handlers: [reads, handler])
        for i in 0..<3 { try channel.writeInbound(frame("r\(i)")) }
        #expect(!handler.readingPaused)
        try channel.writeInbound(frame("r3"))
        #expect(handler.readingPaused && handler.inFlight == 4)
        try channel.writeOutbound(response(0, "0"))
        try channel.writeOutbound(response(1, "1"))
        #expect(handler.readingPaused && handler.inFlight == 2)  // half outstanding: not below half yet
        let readsBefore = reads.count
        try channel.writeOutbound(response(2, "2"))
        #expect(!handler.readingPaused && handler.inFlight == 1 && reads.count == readsBefore + 1)
        _ = try channel.finish()
    }

    @Test func aResponseMarkedToCloseIsWrittenThenTheConnectionCloses() throws {
        let reasons = Reasons()
        let channel = EmbeddedChannel(handler: ResponseOrderingHandler(onClose: { reasons.list.append($0) }))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9092)).wait()
        for text in ["a", "b", "c"] { try channel.writeInbound(frame(text)) }
        try channel.writeOutbound(response(2, "C"))
        try channel.writeOutbound(response(1, "B", close: "authentication failed"))
        #expect(channel.isActive)
        try channel.writeOutbound(response(0, "A"))
        #expect(try written(channel) == ["A", "B"])  // C, behind the close, is never written
        #expect(!channel.isActive && reasons.list == ["authentication failed"])
    }

    @Test func anIdleConnectionClosesOnlyWithNothingOutstanding() throws {
        let reasons = Reasons()
        let channel = EmbeddedChannel(handler: ResponseOrderingHandler(idleReason: "idle for 10 ms", onClose: { reasons.list.append($0) }))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9092)).wait()
        try channel.writeInbound(frame("parked fetch"))
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        #expect(channel.isActive)
        try channel.writeOutbound(response(0, "answer"))
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        #expect(!channel.isActive && reasons.list == ["idle for 10 ms"])
    }
}

/// Close reasons collected on the embedded channel's (single) thread.
final class Reasons {
    var list: [String] = []
}

/// Counts the reads asked for by the handlers behind it.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var count = 0

    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}
