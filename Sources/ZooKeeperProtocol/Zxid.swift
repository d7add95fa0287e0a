/// A ZooKeeper transaction id: `epoch << 32 | counter`, one per write, strictly increasing.
///
/// Every write consumes one, failed writes (NodeExists, BadVersion…) and session creation and closing included;
/// replies to reads carry the last committed one. A standalone server stays in epoch 0.
public struct Zxid: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64

    public init(rawValue: Int64) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// Before the first transaction.
    public static let zero = Zxid(0)
    /// What watch notifications carry in their reply header, and what a reply to an unknown op carries.
    public static let none = Zxid(-1)

    public var next: Zxid { Zxid(rawValue + 1) }

    public static func < (lhs: Zxid, rhs: Zxid) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `0x…` as ZooKeeper prints it (four-letter words, zkCli).
    public var description: String { "0x" + String(rawValue, radix: 16) }
}

/// A session id: opaque to clients; a standalone server puts its server id (1) in the top byte and the creation
/// time in the bits below, as ZooKeeper's `SessionTrackerImpl.initializeNextSessionId` does.
public struct SessionID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64

    public init(rawValue: Int64) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// "No session": the `ephemeralOwner` of a persistent node, and what a new client sends in its ConnectRequest.
    public static let none = SessionID(0)

    public static func < (lhs: SessionID, rhs: SessionID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "0x" + String(UInt64(bitPattern: rawValue), radix: 16) }
}
