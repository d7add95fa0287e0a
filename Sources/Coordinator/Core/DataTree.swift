import ZooKeeperProtocol

/// The znode tree: ZooKeeper's `DataTree`, without any networking or client-connection code, so it can be tested on
/// its own.
///
/// Every mutation takes the transaction's zxid and time as arguments; the tree never reads a clock, so replaying the
/// same transactions always yields the same tree. Mutations return the ``WatchTrigger``s they cause; firing them is
/// the caller's business. Paths are absolute ("/a/b"); the root "/" starts with ZooKeeper's own subtree
/// `/zookeeper` (`quota`, `config`), with the same initial stats as ZooKeeper 3.8.
///
/// Invariants: every node but the root has its parent in `nodes` and is listed in the parent's `children`; an
/// ephemeral node has no children and is listed in `ephemerals` under its owner; a container is in `containers`.
///
/// Not thread-safe (a value type; the coordinator owns one).
public struct DataTree: Sendable {
    public private(set) var nodes: [String: DataNode] = [:]
    /// Ephemeral paths by owning session.
    public private(set) var ephemerals: [SessionID: Set<String>] = [:]
    /// Container paths (deleted by the server once their last child is gone).
    public private(set) var containers: Set<String> = []
    /// Sum of path and data lengths, as ZooKeeper's `approximateDataSize`.
    public private(set) var approximateDataSize = 0

    public init() {
        // ZooKeeper links its own nodes into the root directly (not through createNode), which is why the root starts
        // with cversion −1 and /zookeeper with −2: children present, no creations counted.
        func builtIn(_ acl: [ACL], _ children: Set<String> = []) -> DataNode {
            DataNode(data: [], acl: acl, czxid: .zero, mzxid: .zero, ctime: 0, mtime: 0, pzxid: .zero, children: children)
        }
        insert("/", builtIn(ACL.openUnsafe, ["zookeeper"]))
        insert("/zookeeper", builtIn(ACL.openUnsafe, ["quota", "config"]))
        insert("/zookeeper/quota", builtIn(ACL.openUnsafe))
        // ZooKeeper sets the config node's ACL with version −1 and so leaves its aversion at −1.
        var config = builtIn(ACL.readUnsafe)
        config.aversion = -1
        insert("/zookeeper/config", config)
    }

    /// An empty tree to fill from a snapshot (no root yet).
    package init(empty: Void) {}

    /// Adds a node read from a snapshot; its parent must already be present (snapshots list parents first).
    package mutating func restore(path: String, node: DataNode) -> Bool {
        var node = node
        node.children = []
        if path != ZNodePath.root {
            guard let parent = ZNodePath.parent(of: path), nodes[parent] != nil, nodes[path] == nil else { return false }
            nodes[parent]!.children.insert(ZNodePath.name(of: path))
        } else if nodes[path] != nil {
            return false
        }
        insert(path, node)
        return true
    }

    private mutating func insert(_ path: String, _ node: DataNode) {
        nodes[path] = node
        approximateDataSize += path.utf8.count + (node.data?.count ?? 0)
        if node.isEphemeral { ephemerals[node.ephemeralOwner, default: []].insert(path) }
        if node.isContainer { containers.insert(path) }
    }

    public func node(at path: String) -> DataNode? { nodes[path] }

    public func stat(at path: String) -> Stat? { nodes[path]?.stat }

    /// Real nodes, the root included.
    public var nodeCount: Int { nodes.count }

    public var ephemeralCount: Int { ephemerals.values.reduce(0) { $0 + $1.count } }

    /// Number of descendants of `path` (not counting it), as getAllChildrenNumber reports.
    public func descendantCount(of path: String) -> Int {
        guard let node = nodes[path] else { return 0 }
        return node.children.reduce(0) { $0 + 1 + descendantCount(of: ZNodePath.child($1, of: path)) }
    }

    // MARK: - Mutations (each takes the transaction's zxid and time)

    /// Creates a node. `parentCVersion` is the parent's new count of child creations, decided when the request was
    /// prepared (ZooKeeper's `CreateTxn.parentCVersion`).
    /// - Throws: NoNode (no parent), NodeExists, NoChildrenForEphemerals.
    public mutating func createNode(
        path: String, data: [UInt8]?, acl: [ACL], ephemeralOwner: SessionID, parentCVersion: Int32, zxid: Zxid,
        time: Int64
    ) throws(KeeperError) -> [WatchTrigger] {
        guard let parentPath = ZNodePath.parent(of: path), let parentIndex = nodes.index(forKey: parentPath) else {
            throw KeeperError(.noNode)
        }
        let name = ZNodePath.name(of: path)
        guard !nodes.values[parentIndex].children.contains(name) else { throw KeeperError(.nodeExists) }
        guard !nodes.values[parentIndex].isEphemeral else { throw KeeperError(.noChildrenForEphemerals) }
        // The parent is changed in place: a copy taken out of the dictionary would share its children set, and
        // inserting into it would copy the whole set (every create under a node with n children costing O(n)).
        nodes.values[parentIndex].children.insert(name)
        if parentCVersion > nodes.values[parentIndex].childCreations {
            nodes.values[parentIndex].childCreations = parentCVersion
            nodes.values[parentIndex].pzxid = zxid
        }
        insert(path, DataNode(
            data: data, acl: acl, czxid: zxid, mzxid: zxid, ctime: time, mtime: time, ephemeralOwner: ephemeralOwner,
            pzxid: zxid))
        return [.created(path)]
    }

    /// Deletes a childless node.
    /// - Throws: NoNode, NotEmpty, BadArguments (the root).
    public mutating func deleteNode(path: String, zxid: Zxid) throws(KeeperError) -> [WatchTrigger] {
        guard let parentPath = ZNodePath.parent(of: path) else { throw KeeperError(.badArguments) }
        guard let node = nodes[path] else { throw KeeperError(.noNode) }
        guard node.children.isEmpty else { throw KeeperError(.notEmpty) }
        nodes[path] = nil
        approximateDataSize -= path.utf8.count + (node.data?.count ?? 0)
        if node.isEphemeral {
            ephemerals[node.ephemeralOwner]?.remove(path)
            if ephemerals[node.ephemeralOwner]?.isEmpty == true { ephemerals[node.ephemeralOwner] = nil }
        }
        if node.isContainer { containers.remove(path) }
        nodes[parentPath]!.children.remove(ZNodePath.name(of: path))
        if zxid > nodes[parentPath]!.pzxid { nodes[parentPath]!.pzxid = zxid }
        return [.deleted(path)]
    }

    /// Replaces a node's data; `version` is the new data version (decided when the request was prepared).
    /// - Throws: NoNode.
    public mutating func setData(path: String, data: [UInt8]?, version: Int32, zxid: Zxid, time: Int64) throws(KeeperError) -> (Stat, [WatchTrigger]) {
        guard var node = nodes[path] else { throw KeeperError(.noNode) }
        approximateDataSize += (data?.count ?? 0) - (node.data?.count ?? 0)
        node.data = data
        node.version = version
        node.mzxid = zxid
        node.mtime = time
        nodes[path] = node
        return (node.stat, [.dataChanged(path)])
    }

    /// Replaces a node's ACL; `aversion` is the new ACL version.
    /// - Throws: NoNode.
    public mutating func setACL(path: String, acl: [ACL], aversion: Int32) throws(KeeperError) -> Stat {
        guard nodes[path] != nil else { throw KeeperError(.noNode) }
        nodes[path]!.acl = acl
        nodes[path]!.aversion = aversion
        return nodes[path]!.stat
    }

    /// Deletes every ephemeral node of `session` (session close or expiry), in path order so the outcome and the
    /// order of watch events are deterministic.
    public mutating func killSession(_ session: SessionID, zxid: Zxid) -> [WatchTrigger] {
        guard let paths = ephemerals[session] else { return [] }
        var triggers: [WatchTrigger] = []
        for path in paths.sorted() {
            // Ephemeral nodes have no children, so deleting them cannot fail.
            do {
                triggers += try deleteNode(path: path, zxid: zxid)
            } catch {
                preconditionFailure("ephemeral \(path) of \(session) could not be deleted: \(error)")
            }
        }
        return triggers
    }

    /// Containers that had children once and have none now: the container sweeper deletes them
    /// (`ContainerManager.getCandidates`).
    public var emptyContainers: [String] {
        containers.filter { path in
            guard let node = nodes[path] else { return false }
            return node.children.isEmpty && node.childCreations > 0
        }.sorted()
    }
}
