import NIOCore

/// The first frame a client sends (no request header): 45 bytes from current clients, 44 from clients that predate
/// read-only mode (no trailing `readOnly`).
///
/// `lastZxidSeen` lets a server refuse a client that has seen a newer state than its own; a non-zero `sessionId` with
/// its `passwd` asks to resume that session.
public struct ConnectRequest: JuteRecord {
    public var protocolVersion: Int32
    public var lastZxidSeen: Zxid
    public var timeOut: Int32
    public var sessionId: SessionID
    public var passwd: [UInt8]
    /// nil when the client did not send the byte (and so must not receive one back).
    public var readOnly: Bool?

    public init(
        protocolVersion: Int32 = 0, lastZxidSeen: Zxid = .zero, timeOut: Int32, sessionId: SessionID = .none,
        passwd: [UInt8] = [UInt8](repeating: 0, count: 16), readOnly: Bool? = false
    ) {
        self.protocolVersion = protocolVersion
        self.lastZxidSeen = lastZxidSeen
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.passwd = passwd
        self.readOnly = readOnly
    }

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        protocolVersion = try reader.readInt("ConnectRequest.protocolVersion")
        lastZxidSeen = Zxid(try reader.readLong("ConnectRequest.lastZxidSeen"))
        timeOut = try reader.readInt("ConnectRequest.timeOut")
        sessionId = SessionID(try reader.readLong("ConnectRequest.sessionId"))
        passwd = try reader.readBuffer("ConnectRequest.passwd") ?? []
        readOnly = reader.remaining > 0 ? try reader.readBool("ConnectRequest.readOnly") : nil
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(protocolVersion)
        buffer.writeInteger(lastZxidSeen.rawValue)
        buffer.writeInteger(timeOut)
        buffer.writeInteger(sessionId.rawValue)
        buffer.writeJuteBuffer(passwd)
        if let readOnly { buffer.writeJuteBool(readOnly) }
    }
}

/// The server's first frame (no reply header): the negotiated timeout, the session id and its password. A refused
/// reconnect (expired or unknown session) is answered with timeout 0, session 0 and a zero password, then closed.
public struct ConnectResponse: JuteRecord {
    public var protocolVersion: Int32
    public var timeOut: Int32
    public var sessionId: SessionID
    public var passwd: [UInt8]
    /// nil for clients whose request had no `readOnly` byte.
    public var readOnly: Bool?

    public init(protocolVersion: Int32 = 0, timeOut: Int32, sessionId: SessionID, passwd: [UInt8], readOnly: Bool?) {
        self.protocolVersion = protocolVersion
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.passwd = passwd
        self.readOnly = readOnly
    }

    /// The answer to a reconnect whose session is gone.
    public static func expired(readOnly: Bool?) -> ConnectResponse {
        ConnectResponse(timeOut: 0, sessionId: .none, passwd: [UInt8](repeating: 0, count: 16), readOnly: readOnly.map { _ in false })
    }

    public var isExpired: Bool { timeOut <= 0 }

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        protocolVersion = try reader.readInt("ConnectResponse.protocolVersion")
        timeOut = try reader.readInt("ConnectResponse.timeOut")
        sessionId = SessionID(try reader.readLong("ConnectResponse.sessionId"))
        passwd = try reader.readBuffer("ConnectResponse.passwd") ?? []
        readOnly = reader.remaining > 0 ? try reader.readBool("ConnectResponse.readOnly") : nil
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(protocolVersion)
        buffer.writeInteger(timeOut)
        buffer.writeInteger(sessionId.rawValue)
        buffer.writeJuteBuffer(passwd)
        if let readOnly { buffer.writeJuteBool(readOnly) }
    }
}
