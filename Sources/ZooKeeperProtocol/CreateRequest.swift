import NIOCore

/// The body of create (1), create2 (15), createContainer (19) and createTTL (21): the last adds `ttl`.
///
/// `flags` stays raw: an unknown value is a request error (BadArguments) answered by the server, not a decoding
/// failure.
public struct CreateRequest: Sendable, Equatable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var flags: Int32
    /// Time to live in milliseconds; only for createTTL.
    public var ttl: Int64?

    public init(path: String, data: [UInt8]?, acl: [ACL] = ACL.openUnsafe, mode: CreateMode, ttl: Int64? = nil) {
        self.init(path: path, data: data, acl: acl, flags: mode.rawValue, ttl: ttl)
    }

    public init(path: String, data: [UInt8]?, acl: [ACL], flags: Int32, ttl: Int64? = nil) {
        self.path = path
        self.data = data
        self.acl = acl
        self.flags = flags
        self.ttl = ttl
    }

    /// nil when `flags` names no create mode.
    public var mode: CreateMode? { CreateMode(rawValue: flags) }

    public init(from reader: inout JuteReader, withTTL: Bool) throws(JuteDecodingError) {
        path = try reader.readNonNullString("CreateRequest.path")
        data = try reader.readBuffer("CreateRequest.data")
        acl = try reader.readACLs("CreateRequest.acl")
        flags = try reader.readInt("CreateRequest.flags")
        ttl = withTTL ? try reader.readLong("CreateTTLRequest.ttl") : nil
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeJuteACLs(acl)
        buffer.writeInteger(flags)
        if let ttl { buffer.writeInteger(ttl) }
    }
}

/// The body of SetWatches (101) and SetWatches2 (105): watches a client re-registers after reconnecting, with the
/// last zxid it saw; the server fires at once for anything that changed since.
public struct SetWatches: Sendable, Equatable {
    public var relativeZxid: Zxid
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]
    /// SetWatches2 only.
    public var persistentWatches: [String]
    public var persistentRecursiveWatches: [String]

    public init(
        relativeZxid: Zxid, dataWatches: [String] = [], existWatches: [String] = [], childWatches: [String] = [],
        persistentWatches: [String] = [], persistentRecursiveWatches: [String] = []
    ) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
        self.persistentWatches = persistentWatches
        self.persistentRecursiveWatches = persistentRecursiveWatches
    }

    public init(from reader: inout JuteReader, version2: Bool) throws(JuteDecodingError) {
        relativeZxid = Zxid(try reader.readLong("SetWatches.relativeZxid"))
        dataWatches = try reader.readStringVector("SetWatches.dataWatches")
        existWatches = try reader.readStringVector("SetWatches.existWatches")
        childWatches = try reader.readStringVector("SetWatches.childWatches")
        persistentWatches = version2 ? try reader.readStringVector("SetWatches2.persistentWatches") : []
        persistentRecursiveWatches = version2 ? try reader.readStringVector("SetWatches2.persistentRecursiveWatches") : []
    }

    public func write(to buffer: inout ByteBuffer, version2: Bool) {
        buffer.writeInteger(relativeZxid.rawValue)
        buffer.writeJuteStrings(dataWatches)
        buffer.writeJuteStrings(existWatches)
        buffer.writeJuteStrings(childWatches)
        if version2 {
            buffer.writeJuteStrings(persistentWatches)
            buffer.writeJuteStrings(persistentRecursiveWatches)
        }
    }
}

/// The body of an auth request (op 100, xid −4): a scheme and its credentials ("digest" takes `user:password`).
public struct AuthPacket: JuteRecord {
    public var type: Int32
    public var scheme: String
    public var auth: [UInt8]

    public init(type: Int32 = 0, scheme: String, auth: [UInt8]) {
        self.type = type
        self.scheme = scheme
        self.auth = auth
    }

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        type = try reader.readInt("AuthPacket.type")
        scheme = try reader.readString("AuthPacket.scheme") ?? ""
        auth = try reader.readBuffer("AuthPacket.auth") ?? []
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        buffer.writeJuteString(scheme)
        buffer.writeJuteBuffer(auth)
    }
}

/// One entry of a whoAmI (107) reply.
public struct ClientInfo: JuteRecord {
    public var authScheme: String
    public var user: String

    public init(authScheme: String, user: String) {
        self.authScheme = authScheme
        self.user = user
    }

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        authScheme = try reader.readString("ClientInfo.authScheme") ?? ""
        user = try reader.readString("ClientInfo.user") ?? ""
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeJuteString(authScheme)
        buffer.writeJuteString(user)
    }
}
