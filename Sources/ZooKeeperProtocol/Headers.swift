import NIOCore

/// Precedes every request after the handshake: the client's `xid` (counting up from 1 per connection, or one of
/// ``SpecialXid``) and the op code.
public struct RequestHeader: JuteRecord {
    public var xid: Int32
    public var type: OpCode

    public init(xid: Int32, type: OpCode) {
        self.xid = xid
        self.type = type
    }

    public static let encodedBytes = 8

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        xid = try reader.readInt("RequestHeader.xid")
        type = OpCode(rawValue: try reader.readInt("RequestHeader.type"))
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(xid)
        buffer.writeInteger(type.rawValue)
    }
}

/// Precedes every reply and notification. The body follows only when `err` is OK (multi replies always have one).
public struct ReplyHeader: JuteRecord {
    public var xid: Int32
    public var zxid: Zxid
    public var err: KeeperErrorCode

    public init(xid: Int32, zxid: Zxid, err: KeeperErrorCode = .ok) {
        self.xid = xid
        self.zxid = zxid
        self.err = err
    }

    public static let encodedBytes = 16

    /// The header of a watch notification.
    public static let notification = ReplyHeader(xid: SpecialXid.notification, zxid: .none)

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        xid = try reader.readInt("ReplyHeader.xid")
        zxid = Zxid(try reader.readLong("ReplyHeader.zxid"))
        err = KeeperErrorCode(rawValue: try reader.readInt("ReplyHeader.err"))
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(xid)
        buffer.writeInteger(zxid.rawValue)
        buffer.writeInteger(err.rawValue)
    }
}

/// Precedes each operation in a multi request and each result in a multi response; `{type −1, done true, err −1}`
/// ends the list.
public struct MultiHeader: JuteRecord {
    public var type: OpCode
    public var done: Bool
    public var err: Int32

    public init(type: OpCode, done: Bool, err: Int32) {
        self.type = type
        self.done = done
        self.err = err
    }

    public static let end = MultiHeader(type: .error, done: true, err: -1)

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        type = OpCode(rawValue: try reader.readInt("MultiHeader.type"))
        done = try reader.readBool("MultiHeader.done")
        err = try reader.readInt("MultiHeader.err")
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(type.rawValue)
        buffer.writeJuteBool(done)
        buffer.writeInteger(err)
    }
}
