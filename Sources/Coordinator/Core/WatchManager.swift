import ZooKeeperProtocol

/// Identifies one client connection inside the coordinator (assigned by the server, never reused).
public struct ConnectionID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static func < (lhs: ConnectionID, rhs: ConnectionID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "connection \(rawValue)" }
}

/// One-shot watches, ZooKeeper's pair of `WatchManager`s (data watches, child watches).
///
/// Watches belong to a connection, as in ZooKeeper (where the watcher is the `ServerCnxn`): they vanish with it, and
/// the Java client re-registers them with SetWatches after reconnecting. Exists watches are data watches, including
/// those set on a node that does not exist yet. A watch fires once and is removed; registering the same path twice
/// from one connection still yields one event.
///
/// Rules (ZooKeeper's `DataTree`): create fires NodeCreated on the path's data watches and NodeChildrenChanged on the
/// parent's child watches; delete fires NodeDeleted on the path's data watches, then on its child watches (skipping
/// connections that already got it), then NodeChildrenChanged on the parent; setData fires NodeDataChanged on data
/// watches.
public struct WatchManager: Sendable {
    private var dataWatches: [String: Set<ConnectionID>] = [:]
    private var childWatches: [String: Set<ConnectionID>] = [:]
    /// Reverse index, so a closing connection's watches are dropped without scanning every path.
    private var pathsByConnection: [ConnectionID: (data: Set<String>, child: Set<String>)] = [:]

    public init() {}

    /// Which watch table a removal or check refers to (`Watcher.WatcherType`: 1 children, 2 data, 3 any).
    public enum Kind: Int32, Sendable {
        case children = 1
        case data = 2
        case any = 3
    }

    public mutating func addDataWatch(_ path: String, for connection: ConnectionID) {
        dataWatches[path, default: []].insert(connection)
        pathsByConnection[connection, default: ([], [])].data.insert(path)
    }

    public mutating func addChildWatch(_ path: String, for connection: ConnectionID) {
        childWatches[path, default: []].insert(connection)
        pathsByConnection[connection, default: ([], [])].child.insert(path)
    }

    /// Drops every watch of a connection that closed.
    public mutating func removeAll(for connection: ConnectionID) {
        guard let paths = pathsByConnection.removeValue(forKey: connection) else { return }
        for path in paths.data { Self.remove(connection, from: path, in: &dataWatches) }
        for path in paths.child { Self.remove(connection, from: path, in: &childWatches) }
    }

    /// Whether `connection` watches `path` in the given table(s).
    public func contains(_ path: String, kind: Kind, for connection: ConnectionID) -> Bool {
        let data = dataWatches[path]?.contains(connection) ?? false
        let child = childWatches[path]?.contains(connection) ?? false
        switch kind {
        case .children: return child
        case .data: return data
        case .any: return data || child
        }
    }

    /// Removes a connection's watches on `path`; false if there were none (NoWatcher).
    public mutating func remove(_ path: String, kind: Kind, for connection: ConnectionID) -> Bool {
        guard contains(path, kind: kind, for: connection) else { return false }
        if kind != .children, dataWatches[path]?.contains(connection) == true {
            Self.remove(connection, from: path, in: &dataWatches)
            pathsByConnection[connection]?.data.remove(path)
        }
        if kind != .data, childWatches[path]?.contains(connection) == true {
            Self.remove(connection, from: path, in: &childWatches)
            pathsByConnection[connection]?.child.remove(path)
        }
        prune(connection)
        return true
    }

    private mutating func prune(_ connection: ConnectionID) {
        if let paths = pathsByConnection[connection], paths.data.isEmpty && paths.child.isEmpty {
            pathsByConnection[connection] = nil
        }
    }

    public var watchCount: Int {
        dataWatches.values.reduce(0) { $0 + $1.count } + childWatches.values.reduce(0) { $0 + $1.count }
    }

    public var watchedPathCount: Int { Set(dataWatches.keys).union(childWatches.keys).count }

    public var watchingConnectionCount: Int { pathsByConnection.count }

    /// Fires the watches a change triggers and removes them.
    /// - Returns: the events to send, in order; within one trigger, connections in ascending order.
    public mutating func fire(_ trigger: WatchTrigger) -> [(ConnectionID, WatcherEvent)] {
        switch trigger {
        case .created(let path):
            return take(path, from: \.dataWatches, type: .nodeCreated)
                + take(ZNodePath.parent(of: path) ?? ZNodePath.root, from: \.childWatches, type: .nodeChildrenChanged)
        case .deleted(let path):
            let data = take(path, from: \.dataWatches, type: .nodeDeleted)
            let already = Set(data.map(\.0))
            let child = take(path, from: \.childWatches, type: .nodeDeleted).filter { !already.contains($0.0) }
            return data + child
                + take(ZNodePath.parent(of: path) ?? ZNodePath.root, from: \.childWatches, type: .nodeChildrenChanged)
        case .dataChanged(let path):
            return take(path, from: \.dataWatches, type: .nodeDataChanged)
        }
    }

    private mutating func take(
        _ path: String, from table: WritableKeyPath<WatchManager, [String: Set<ConnectionID>]>, type: EventType
    ) -> [(ConnectionID, WatcherEvent)] {
        guard let connections = self[keyPath: table].removeValue(forKey: path) else { return [] }
        let isData = table == \WatchManager.dataWatches
        for connection in connections {
            if isData { pathsByConnection[connection]?.data.remove(path) } else { pathsByConnection[connection]?.child.remove(path) }
            prune(connection)
        }
        return connections.sorted().map { ($0, WatcherEvent(type: type, path: path)) }
    }

    private static func remove(_ connection: ConnectionID, from path: String, in table: inout [String: Set<ConnectionID>]) {
        table[path]?.remove(connection)
        if table[path]?.isEmpty == true { table[path] = nil }
    }
}
