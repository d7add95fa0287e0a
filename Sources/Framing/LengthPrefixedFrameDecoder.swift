import NIOCore
import Synchronization

/// Splits a TCP stream into frames of `int32 length` + payload, the framing of both Kafka and ZooKeeper.
///
/// Emits each payload (without the length) as a slice of the read buffer, so no bytes are copied. A frame that has not
/// fully arrived is not an error: the decoder waits (NIO's `needMoreData`). A negative length or one above
/// `maxFrameBytes` is: the decoder throws ``FrameError`` and the connection's handler closes that one connection
/// (Kafka's `socket.request.max.bytes`, 100 MiB by default, and ZooKeeper's `jute.maxbuffer`).
///
/// An optional `firstBytesHook` sees the first four bytes of a connection before they are taken as a length; the
/// ZooKeeper server uses it to recognise four-letter words ("ruok"), which arrive without a length prefix.
///
/// With `reusesLargeFrameBuffers`, frames of ``largeFrameBytes`` or more are collected into two buffers of their own,
/// used in turn, each reused once nothing holds the frame it held before (`ByteBuffer.clear` keeps storage that is no
/// longer shared): a client receiving fetch responses of megabytes otherwise gets each one in fresh memory, every page
/// of it faulted in and zeroed by the kernel (measured on the sink: most of its page faults).
public struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public let maxFrameBytes: Int
    private var firstBytesHook: (@Sendable (UInt32) -> Bool)?
    /// A tighter limit that may change while the connection lives (a SASL listener before authentication).
    private let dynamicLimit: FrameSizeLimit?
    /// Frames from this size up are collected into reused buffers (with `reusesLargeFrameBuffers`).
    public static let largeFrameBytes = 256 * 1024
    /// Buffers above this capacity are not kept for reuse: a rare response of tens of megabytes (fetch.max.bytes is
    /// 50 MiB) would otherwise stay allocated for as long as the connection lives.
    public static let largestReusedBufferBytes = 8 << 20
    /// At most this much is reserved for a frame on the word of its length alone; a larger frame's buffer grows as
    /// its bytes arrive. A peer that announces gigabytes and sends nothing gets no gigabyte allocation for it.
    public static let largestReservationBytes = 16 << 20
    private let reusesLargeFrameBuffers: Bool
    /// The buffers of the last two large frames. Two fields, not an array: taking a buffer out of an array that was
    /// not uniquely referenced copied the array, and the copy's reference made every buffer look shared.
    private var largeFrameBuffers: (ByteBuffer?, ByteBuffer?) = (nil, nil)
    private var usesSecondLargeFrameBuffer = false
    /// The large frame being collected, and how many of its bytes are still to come.
    private var collecting: (frame: ByteBuffer, remaining: Int)?

    /// - Parameter firstBytesHook: called once with the first four bytes; returning true stops decoding and passes
    ///   the raw bytes (all of them) on as one message.
    /// - Parameter dynamicLimit: when set, frames above its current value are refused too.
    /// - Parameter reusesLargeFrameBuffers: collect large frames into two reused buffers, so that one frame can be
    ///   processed while the next arrives.
    public init(maxFrameBytes: Int, dynamicLimit: FrameSizeLimit? = nil, reusesLargeFrameBuffers: Bool = false,
                firstBytesHook: (@Sendable (UInt32) -> Bool)? = nil) {
        precondition(maxFrameBytes > 0 && maxFrameBytes <= Int(Int32.max))
        self.maxFrameBytes = maxFrameBytes
        self.dynamicLimit = dynamicLimit
        self.reusesLargeFrameBuffers = reusesLargeFrameBuffers
        self.firstBytesHook = firstBytesHook
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if collecting != nil { return collect(from: &buffer, context: context) }
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return .needMoreData
        }
        if let hook = firstBytesHook {
            firstBytesHook = nil
            if hook(UInt32(bitPattern: length)) {
                context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: buffer.readableBytes)!))
                return .continue
            }
        }
        guard length >= 0 else { throw FrameError.negativeLength(length) }
        let limit = min(maxFrameBytes, dynamicLimit?.bytes ?? maxFrameBytes)
        guard Int(length) <= limit else { throw FrameError.tooLarge(length: Int(length), limit: limit) }
        guard buffer.readableBytes >= 4 + Int(length) else {
            if reusesLargeFrameBuffers && Int(length) >= Self.largeFrameBytes {
                buffer.moveReaderIndex(forwardBy: 4)
                // Taken out of its field first: if the frame it held was let go, this is then its only reference.
                var frame = (usesSecondLargeFrameBuffer ? largeFrameBuffers.1.take() : largeFrameBuffers.0.take())
                    ?? context.channel.allocator.buffer(capacity: 0)
                frame.clear(minimumCapacity: min(Int(length), Self.largestReservationBytes))
                // Consumed: a copy left here made the frame look shared while `collect` wrote to it, which copied it.
                collecting = (consume frame, Int(length))
                return collect(from: &buffer, context: context)
            }
            // Room for the whole frame now, as Kafka's own receive does once it has read the size: the buffer would
            // otherwise double as the frame's reads arrive, copying a large frame (a fetch response of megabytes)
            // once more and touching about twice its size in fresh pages (measured: a third of a sink's page faults).
            let missing = min(4 + Int(length) - buffer.readableBytes, Self.largestReservationBytes)
            if missing > buffer.writableBytes { buffer.reserveCapacity(minimumWritableBytes: missing) }
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    /// Moves the bytes of the large frame being collected out of `buffer`; passes the frame on once complete.
    private mutating func collect(from buffer: inout ByteBuffer, context: ChannelHandlerContext) -> DecodingState {
        // Out of `collecting` while written to, so that the write does not copy the frame.
        guard var (frame, remaining) = collecting.take() else { preconditionFailure("no frame is being collected") }
        var bytes = buffer.readSlice(length: min(buffer.readableBytes, remaining))!
        remaining -= bytes.readableBytes
        frame.writeBuffer(&bytes)
        guard remaining == 0 else {
            collecting = (consume frame, remaining)
            return .needMoreData
        }
        let kept = frame.capacity <= Self.largestReusedBufferBytes ? frame : nil
        if usesSecondLargeFrameBuffer { largeFrameBuffers.1 = kept } else { largeFrameBuffers.0 = kept }
        usesSecondLargeFrameBuffer.toggle()
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A partial frame at EOF is simply dropped: the peer went away mid-frame.
        return .needMoreData
    }
}

/// A frame size limit shared between a connection's decoder (on its event loop) and the code that raises it (on a
/// request thread, once the client has authenticated).
public final class FrameSizeLimit: Sendable {
    private let value: Atomic<Int>

    public init(bytes: Int) { value = Atomic(bytes) }

    public var bytes: Int { value.load(ordering: .relaxed) }

    public func set(_ bytes: Int) { value.store(bytes, ordering: .relaxed) }
}

/// Why a stream could not be split into frames; the connection is closed.
public enum FrameError: Error, Equatable, CustomStringConvertible {
    case negativeLength(Int32)
    case tooLarge(length: Int, limit: Int)

    public var description: String {
        switch self {
        case .negativeLength(let length): return "frame with negative length \(length)"
        case .tooLarge(let length, let limit): return "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        }
    }
}
