import NIOCore

/// An identity in an ACL or an auth packet: `scheme` ("world", "digest", "ip", "sasl", "auth") and `id`.
public struct ZooKeeperID: JuteRecord, Hashable, CustomStringConvertible {
    public var scheme: String
    public var id: String

    public init(scheme: String, id: String) {
        self.scheme = scheme
        self.id = id
    }

    /// `world:anyone`, the only identity of an open ACL.
    public static let anyone = ZooKeeperID(scheme: "world", id: "anyone")

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        scheme = try reader.readString("Id.scheme") ?? ""
        id = try reader.readString("Id.id") ?? ""
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeJuteString(scheme)
        buffer.writeJuteString(id)
    }

    public var description: String { "\(scheme):\(id)" }
}

/// Permission bits of an ACL entry (`ZooDefs.Perms`).
public struct Permissions: OptionSet, Hashable, Sendable {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let read = Permissions(rawValue: 1)
    public static let write = Permissions(rawValue: 2)
    public static let create = Permissions(rawValue: 4)
    public static let delete = Permissions(rawValue: 8)
    public static let admin = Permissions(rawValue: 16)
    public static let all: Permissions = [.read, .write, .create, .delete, .admin]
}

/// One ACL entry: who (`id`) may do what (`perms`).
public struct ACL: JuteRecord, Hashable, CustomStringConvertible {
    public var perms: Permissions
    public var id: ZooKeeperID

    public init(perms: Permissions, id: ZooKeeperID) {
        self.perms = perms
        self.id = id
    }

    /// `[(ALL, world:anyone)]`: what kazoo and zkCli send by default (`ZooDefs.Ids.OPEN_ACL_UNSAFE`).
    public static let openUnsafe = [ACL(perms: .all, id: .anyone)]
    /// `[(READ, world:anyone)]` (`ZooDefs.Ids.READ_ACL_UNSAFE`), the ACL of `/zookeeper/config`.
    public static let readUnsafe = [ACL(perms: .read, id: .anyone)]

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        perms = Permissions(rawValue: try reader.readInt("ACL.perms"))
        id = try reader.read(ZooKeeperID.self)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(perms.rawValue)
        id.write(to: &buffer)
    }

    public var description: String { "\(id) perms \(perms.rawValue)" }
}

extension JuteReader {
    /// A `vector<ACL>`; null reads as empty (which the server then refuses as InvalidACL, as ZooKeeper does).
    public mutating func readACLs(_ field: StaticString = "acl") throws(JuteDecodingError) -> [ACL] {
        try readVector(field, minimumElementBytes: 12) { (reader: inout JuteReader) throws(JuteDecodingError) in
            try reader.read(ACL.self)
        } ?? []
    }
}

extension ByteBuffer {
    public mutating func writeJuteACLs(_ acl: [ACL]) {
        writeJuteVector(acl) { $1.write(to: &$0) }
    }
}
