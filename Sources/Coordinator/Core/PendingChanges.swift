import ZooKeeperProtocol

/// What ``PrepStage`` needs to know about a node to validate a request.
package struct NodeRecord: Equatable {
    package var acl: [ACL]
    package var version: Int32
    package var aversion: Int32
    package var childCreations: Int32
    package var childCount: Int
    package var ephemeralOwner: SessionID

    package init(_ node: DataNode) {
        acl = node.acl
        version = node.version
        aversion = node.aversion
        childCreations = node.childCreations
        childCount = node.children.count
        ephemeralOwner = node.ephemeralOwner
    }

    package init(acl: [ACL], ephemeralOwner: SessionID) {
        self.acl = acl
        version = 0
        aversion = 0
        childCreations = 0
        childCount = 0
        self.ephemeralOwner = ephemeralOwner
    }

    package var isEphemeral: Bool { ephemeralOwner != .none && ephemeralOwner != DataNode.containerOwner }
}

/// The tree as it will be once the operations prepared so far are applied: ZooKeeper's `outstandingChanges`.
///
/// A multi's operations are validated one after another against this overlay, so a later operation sees the
/// effects of the earlier ones (create a node, then set its data; two sequential creates get consecutive numbers)
/// while the tree itself stays untouched until the whole transaction is applied.
package struct PendingChanges {
    package let tree: DataTree
    /// A path's record as changed by earlier operations; nil inside means "deleted".
    private var changed: [String: NodeRecord?] = [:]

    package init(tree: DataTree) {
        self.tree = tree
    }

    package func record(at path: String) -> NodeRecord? {
        if let change = changed[path] { return change }
        return tree.node(at: path).map(NodeRecord.init)
    }

    package mutating func set(_ path: String, _ record: NodeRecord?) {
        changed[path] = .some(record)
    }
}
