import Framing
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// `LengthPrefixedFrameDecoder` in a real `ByteToMessageHandler` on an `EmbeddedChannel`.
@Suite struct FrameDecoderTests {
    /// Payloads of the sample stream: ordinary, empty, long enough for a multi-byte length, and text.
    static let payloads: [[UInt8]] = [
        [1, 2, 3],
        [],
        (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) },
        Array("hello".utf8),
    ]

    static func lengthPrefixed(_ payloads: [[UInt8]]) -> [UInt8] {
        payloads.flatMap { payload in
            withUnsafeBytes(of: Int32(payload.count).bigEndian, Array.init) + payload
        }
    }

    static func channel(maxFrameBytes: Int = 1024, hook: (@Sendable (UInt32) -> Bool)? = nil) -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(
            LengthPrefixedFrameDecoder(maxFrameBytes: maxFrameBytes, firstBytesHook: hook)))
    }

    /// Feeds `stream` cut at `cuts`, then closes the channel; returns every frame that came out.
    static func frames(of stream: [UInt8], cutAt cuts: [Int], maxFrameBytes: Int = 1024) throws -> [[UInt8]] {
        let channel = channel(maxFrameBytes: maxFrameBytes)
        var start = 0
        for end in cuts + [stream.count] where end > start {
            try channel.writeInbound(ByteBuffer(bytes: stream[start..<end]))
            start = end
        }
        let clean = try channel.finish().isClean
        var frames: [[UInt8]] = []
        while let frame = try channel.readInbound(as: ByteBuffer.self) { frames.append(Array(buffer: frame)) }
        #expect(!clean || frames.isEmpty, "finish() reported clean although frames were pending")
        return frames
    }

    // Goal: the same frames come out whether the stream arrives whole, one byte at a time, or in random chunks.
    @Test func chunkingDoesNotChangeTheFrames() throws {
        let stream = Self.lengthPrefixed(Self.payloads)
        #expect(try Self.frames(of: stream, cutAt: []) == Self.payloads)
        #expect(try Self.frames(of: stream, cutAt: Array(1..<stream.count)) == Self.payloads)
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<50 {
            let count = Int.random(in: 1...20, using: &rng)
            let sortedCuts = Set((0..<count).map { _ in Int.random(in: 1..<stream.count, using: &rng) }).sorted()
            #expect(try Self.frames(of: stream, cutAt: sortedCuts) == Self.payloads, "cuts \(sortedCuts)")
        }
    }

    // Goal: a frame of exactly maxFrameBytes passes; one byte more throws as soon as its length arrives.
    @Test func oversizedFramesThrow() throws {
        let exact = [UInt8](repeating: 9, count: 64)
        #expect(try Self.frames(of: Self.lengthPrefixed([exact]), cutAt: [], maxFrameBytes: 64) == [exact])

        let channel = Self.channel(maxFrameBytes: 64)
        // Only the length prefix: the decoder must not wait for 65 bytes it will refuse anyway.
        #expect(throws: FrameError.tooLarge(length: 65, limit: 64)) {
            try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 65]))
        }
        #expect(throws: FrameError.tooLarge(length: Int(Int32.max), limit: 1024)) {
            try Self.channel().writeInbound(ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF]))
        }
    }

    // Goal: a negative length throws, even after good frames in the same read.
    @Test func negativeLengthsThrow() throws {
        #expect(throws: FrameError.negativeLength(-1)) {
            try Self.channel().writeInbound(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]))
        }
        let channel = Self.channel()
        #expect(throws: FrameError.negativeLength(Int32.min)) {
            try channel.writeInbound(ByteBuffer(bytes: Self.lengthPrefixed([[7]]) + [0x80, 0, 0, 0]))
        }
        // The good frame before the bad length was still delivered.
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [7]))
    }

    // Goal: a frame cut off by EOF (in its length or its payload) is dropped without an error.
    @Test func partialFrameAtEOFIsDropped() throws {
        let stream = Self.lengthPrefixed([[1, 2], [3, 4, 5, 6]])
        for cut in [6, 7, 8, stream.count - 1] {  // inside the second length prefix, then inside its payload
            let channel = Self.channel()
            try channel.writeInbound(ByteBuffer(bytes: stream.prefix(cut)))
            #expect(throws: Never.self) { _ = try channel.finish() }
            #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1, 2]), "cut \(cut)")
            #expect(try channel.readInbound(as: ByteBuffer.self) == nil, "cut \(cut)")
        }
    }

    // Goal: the hook sees the first four bytes once; returning true hands over the raw bytes ("ruok" for ZooKeeper).
    @Test func firstBytesHookTakesFourLetterWords() throws {
        let seen = Mutex<[UInt32]>([])
        let channel = Self.channel(hook: { first in
            seen.withLock { $0.append(first) }
            return first == 0x7275_6F6B  // "ruok"
        })
        // Byte by byte: the hook must wait for all four.
        for byte in "ruok".utf8 { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(seen.withLock { $0 } == [0x7275_6F6B])
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "ruok"))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
    }

    // Goal: when the hook declines, the same bytes are an ordinary length prefix, and the hook is not asked again.
    @Test func declinedHookLeavesFramingIntact() throws {
        let seen = Mutex<[UInt32]>([])
        let channel = Self.channel(hook: { first in
            seen.withLock { $0.append(first) }
            return false
        })
        try channel.writeInbound(ByteBuffer(bytes: Self.lengthPrefixed(Self.payloads)))
        #expect(seen.withLock { $0 } == [3])  // the first frame's length, 3, and only once
        var frames: [[UInt8]] = []
        while let frame = try channel.readInbound(as: ByteBuffer.self) { frames.append(Array(buffer: frame)) }
        #expect(frames == Self.payloads)
    }

    // Goal: "ruok" followed by more bytes in the same read are handed over together, untouched.
    @Test func hookTakesEverythingBufferedWithTheWord() throws {
        let channel = Self.channel(hook: { $0 == 0x7275_6F6B })
        try channel.writeInbound(ByteBuffer(string: "ruok\n"))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "ruok\n"))
    }

    /// The frame decoder, noting the room left in the buffer after each call that waits for more bytes.
    struct RoomRecordingDecoder: ByteToMessageDecoder {
        typealias InboundOut = ByteBuffer
        final class Log: Sendable { let waits = Mutex<[(readable: Int, writable: Int)]>([]) }
        var inner: LengthPrefixedFrameDecoder
        let room: Log

        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            let state = try inner.decode(context: context, buffer: &buffer)
            if state == .needMoreData { room.waits.withLock { $0.append((buffer.readableBytes, buffer.writableBytes)) } }
            return state
        }
    }

    // Goal: once a frame's length has arrived, the buffer has room for the rest of the frame, so its later reads are
    // appended without the buffer growing (and being copied) again; the frame still comes out intact.
    @Test func roomForAWholeFrameIsReservedOnceItsLengthArrives() throws {
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stream = Self.lengthPrefixed([payload])
        let room = RoomRecordingDecoder.Log()
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RoomRecordingDecoder(
            inner: LengthPrefixedFrameDecoder(maxFrameBytes: 2 << 20), room: room)))
        for start in stride(from: 0, to: stream.count, by: 65_536) {
            try channel.writeInbound(ByteBuffer(bytes: stream[start..<min(start + 65_536, stream.count)]))
        }
        let waits = room.waits.withLock { $0 }
        #expect(waits.count == stream.count / 65_536)
        for wait in waits {
            #expect(wait.readable + wait.writable >= stream.count, "room for \(wait.readable + wait.writable) of \(stream.count) bytes")
        }
        let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(Array(buffer: frame) == payload)
        #expect(try channel.finish().isClean)
    }

    /// Large frames of distinct bytes (past ``LengthPrefixedFrameDecoder/largeFrameBytes``) between small ones.
    static func largeAndSmallPayloads(large: Int) -> [[UInt8]] {
        (0..<large).flatMap { index -> [[UInt8]] in
            let size = LengthPrefixedFrameDecoder.largeFrameBytes + index * 1000
            return [(0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ index) }, [UInt8(index)]]
        }
    }

    static func reusingChannel() -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(
            LengthPrefixedFrameDecoder(maxFrameBytes: 8 << 20, reusesLargeFrameBuffers: true)))
    }

    // Goal: with reused buffers, every frame still comes out intact whatever the chunking, and frames kept by the
    // reader are never overwritten by later ones (a buffer is reused only once nothing holds its frame).
    @Test func reusedBuffersNeverOverwriteFramesStillHeld() throws {
        let payloads = Self.largeAndSmallPayloads(large: 5)
        let stream = Self.lengthPrefixed(payloads)
        var rng = SeededGenerator(seed: 7)
        for round in 0..<4 {
            let channel = Self.reusingChannel()
            var start = 0
            while start < stream.count {
                let end = min(stream.count, start + Int.random(in: 1...(round == 0 ? 64 : 200_000), using: &rng))
                try channel.writeInbound(ByteBuffer(bytes: stream[start..<end]))
                start = end
            }
            var held: [ByteBuffer] = []
            while let frame = try channel.readInbound(as: ByteBuffer.self) { held.append(frame) }
            #expect(held.map { Array(buffer: $0) } == payloads, "round \(round)")
            #expect(try channel.finish().isClean)
        }
    }

    // Goal: a large frame let go by the reader leaves its buffer for the large frame after next (two are used in
    // turn), so its memory is used again rather than freed and allocated afresh.
    @Test func aLargeFrameLetGoLeavesItsBufferForALaterOne() throws {
        // One size for all: a larger frame would grow the reused buffer, which realloc may move.
        let payloads = (0..<3).map { index in
            (0..<(LengthPrefixedFrameDecoder.largeFrameBytes + 1000)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
        }
        let channel = Self.reusingChannel()
        var addresses: [UInt] = []
        for payload in payloads {
            let stream = Self.lengthPrefixed([payload])
            try channel.writeInbound(ByteBuffer(bytes: stream.prefix(1000)))
            try channel.writeInbound(ByteBuffer(bytes: stream.dropFirst(1000)))
            let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
            #expect(Array(buffer: frame) == payload)
            addresses.append(frame.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) })
        }
        #expect(addresses[2] == addresses[0], "the third large frame is in the first one's buffer")
        #expect(addresses[1] != addresses[0])
        #expect(try channel.finish().isClean)
    }

    // Goal: a length alone reserves at most largestReservationBytes, with or without reused buffers; a frame larger
    // than that still comes out whole once its bytes arrive.
    @Test(arguments: [false, true])
    func aLengthAloneReservesABoundedAmount(reusing: Bool) throws {
        let cap = LengthPrefixedFrameDecoder.largestReservationBytes
        let announced = Int(Int32.max) - 4
        let room = RoomRecordingDecoder.Log()
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RoomRecordingDecoder(
            inner: LengthPrefixedFrameDecoder(maxFrameBytes: Int(Int32.max), reusesLargeFrameBuffers: reusing), room: room)))
        try channel.writeInbound(ByteBuffer(bytes: withUnsafeBytes(of: Int32(announced).bigEndian, Array.init) + [1, 2, 3]))
        if !reusing {
            let wait = try #require(room.waits.withLock { $0.last })
            #expect(wait.readable + wait.writable <= 2 * cap + 4096, "room for \(wait.readable + wait.writable) bytes")
        }
        _ = try? channel.finish()

        let payload = (0..<(cap + 300_000)).map { UInt8(truncatingIfNeeded: $0 &* 11) }
        let stream = Self.lengthPrefixed([payload])
        let whole = EmbeddedChannel(handler: ByteToMessageHandler(
            LengthPrefixedFrameDecoder(maxFrameBytes: Int(Int32.max), reusesLargeFrameBuffers: reusing)))
        for start in stride(from: 0, to: stream.count, by: 1 << 20) {
            try whole.writeInbound(ByteBuffer(bytes: stream[start..<min(start + (1 << 20), stream.count)]))
        }
        let frame = try #require(try whole.readInbound(as: ByteBuffer.self))
        #expect(frame.readableBytes == payload.count)
        #expect(Array(buffer: frame) == payload)
        #expect(try whole.finish().isClean)
    }
}
