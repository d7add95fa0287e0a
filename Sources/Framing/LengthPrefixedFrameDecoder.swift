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
public struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public let maxFrameBytes: Int
    private var firstBytesHook: (@Sendable (UInt32) -> Bool)?
    /// A tighter limit that may change while the connection lives (a SASL listener before authentication).
    private let dynamicLimit: FrameSizeLimit?

    /// - Parameter firstBytesHook: called once with the first four bytes; returning true stops decoding and passes
    ///   the raw bytes (all of them) on as one message.
    /// - Parameter dynamicLimit: when set, frames above its current value are refused too.
    public init(maxFrameBytes: Int, dynamicLimit: FrameSizeLimit? = nil, firstBytesHook: (@Sendable (UInt32) -> Bool)? = nil) {
        precondition(maxFrameBytes > 0 && maxFrameBytes <= Int(Int32.max))
        self.maxFrameBytes = maxFrameBytes
        self.dynamicLimit = dynamicLimit
        self.firstBytesHook = firstBytesHook
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
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
            // Room for the whole frame now, as Kafka's own receive does once it has read the size: the buffer would
            // otherwise double as the frame's reads arrive, copying a large frame (a fetch response of megabytes)
            // once more and touching about twice its size in fresh pages (measured: a third of a sink's page faults).
            let missing = 4 + Int(length) - buffer.readableBytes
            if missing > buffer.writableBytes { buffer.reserveCapacity(minimumWritableBytes: missing) }
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
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
