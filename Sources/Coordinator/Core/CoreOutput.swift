import NIOCore
import ZooKeeperProtocol

/// What the coordinator core asks its owner to do. Frames are complete (length prefix included) and must be written
/// in the order given; the owner holds them until the log is flushed past ``CoordinatorCore/lastZxid``, so no client
/// learns of a change before it is durable.
public enum CoreOutput: Sendable {
    /// A ConnectResponse.
    case handshake(ConnectionID, ByteBuffer)
    /// A reply to the request that arrived at `receivedAtNanos` (monotonic; for latency statistics).
    case reply(ConnectionID, ByteBuffer, receivedAtNanos: UInt64)
    /// A watch notification.
    case event(ConnectionID, ByteBuffer)
    /// Close the connection once everything before this has been written.
    case close(ConnectionID, reason: String)

    public var connection: ConnectionID {
        switch self {
        case .handshake(let id, _), .reply(let id, _, _), .event(let id, _), .close(let id, _): return id
        }
    }
}

/// Encodes server → client frames with their length prefix.
package enum ServerFrames {
    package static func framed(_ write: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(64)
        buffer.writeInteger(Int32(0))
        write(&buffer)
        buffer.setInteger(Int32(buffer.readableBytes - 4), at: 0)
        return buffer
    }

    /// A reply; the body goes out only with OK unless `bodyOnError` (ZooKeeper's failed sasl reply carries an empty
    /// SetSASLResponse).
    package static func reply(xid: Int32, zxid: Zxid, err: KeeperErrorCode, body: ZooKeeperResponse?, bodyOnError: Bool = false) -> ByteBuffer {
        framed { buffer in
            ReplyHeader(xid: xid, zxid: zxid, err: err).write(to: &buffer)
            if err == .ok || bodyOnError { body?.write(to: &buffer) }
        }
    }

    package static func event(_ event: WatcherEvent) -> ByteBuffer {
        framed { buffer in
            ReplyHeader.notification.write(to: &buffer)
            event.write(to: &buffer)
        }
    }

    package static func handshake(_ response: ConnectResponse) -> ByteBuffer {
        framed { response.write(to: &$0) }
    }
}
