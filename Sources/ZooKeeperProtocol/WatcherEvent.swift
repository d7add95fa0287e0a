import NIOCore

/// What happened to a watched znode (`Watcher.Event.EventType`).
public struct EventType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// A connection state change, not about a znode (client-side only).
    public static let none = EventType(rawValue: -1)
    public static let nodeCreated = EventType(rawValue: 1)
    public static let nodeDeleted = EventType(rawValue: 2)
    public static let nodeDataChanged = EventType(rawValue: 3)
    public static let nodeChildrenChanged = EventType(rawValue: 4)
    public static let dataWatchRemoved = EventType(rawValue: 5)
    public static let childWatchRemoved = EventType(rawValue: 6)
    public static let persistentWatchRemoved = EventType(rawValue: 7)

    public var description: String {
        switch rawValue {
        case -1: return "None"
        case 1: return "NodeCreated"
        case 2: return "NodeDeleted"
        case 3: return "NodeDataChanged"
        case 4: return "NodeChildrenChanged"
        case 5: return "DataWatchRemoved"
        case 6: return "ChildWatchRemoved"
        case 7: return "PersistentWatchRemoved"
        default: return "event \(rawValue)"
        }
    }
}

/// The session state carried in a watch event (`Watcher.Event.KeeperState`).
public struct KeeperState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    public static let disconnected = KeeperState(rawValue: 0)
    public static let syncConnected = KeeperState(rawValue: 3)
    public static let authFailed = KeeperState(rawValue: 4)
    public static let connectedReadOnly = KeeperState(rawValue: 5)
    public static let saslAuthenticated = KeeperState(rawValue: 6)
    public static let expired = KeeperState(rawValue: -112)
    public static let closed = KeeperState(rawValue: 7)

    public var description: String {
        switch rawValue {
        case 0: return "Disconnected"
        case 3: return "SyncConnected"
        case 4: return "AuthFailed"
        case 5: return "ConnectedReadOnly"
        case 6: return "SaslAuthenticated"
        case -112: return "Expired"
        case 7: return "Closed"
        default: return "state \(rawValue)"
        }
    }
}

/// A watch notification: sent with `ReplyHeader{xid −1, zxid −1, err 0}`; the server always reports SyncConnected.
public struct WatcherEvent: JuteRecord, CustomStringConvertible {
    public var type: EventType
    public var state: KeeperState
    public var path: String

    public init(type: EventType, state: KeeperState = .syncConnected, path: String) {
        self.type = type
        self.state = state
        self.path = path
    }

    public init(from reader: inout JuteReader) throws(JuteDecodingError) {
        type = EventType(rawValue: try reader.readInt("WatcherEvent.type"))
        state = KeeperState(rawValue: try reader.readInt("WatcherEvent.state"))
        path = try reader.readString("WatcherEvent.path") ?? ""
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(state.rawValue)
        buffer.writeJuteString(path)
    }

    public var description: String { "\(type) \(path) (\(state))" }
}
