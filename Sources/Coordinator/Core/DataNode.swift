import ZooKeeperProtocol

/// One znode: data, ACL, the persisted part of its Stat, and the names of its children.
///
/// `childCreations` is what ZooKeeper keeps internally as the node's cversion: the number of children ever created
/// under it. Sequential names are numbered from it, and the cversion clients see is derived from it the way
/// ZooKeeper's `DataNode.copyStat` does (creations × 2 − current children, i.e. creations plus deletions).
public struct DataNode: Sendable, Equatable {
    public var data: [UInt8]?
    public var acl: [ACL]
    public var czxid: Zxid
    public var mzxid: Zxid
    public var ctime: Int64
    public var mtime: Int64
    public var version: Int32
    public var childCreations: Int32
    public var aversion: Int32
    /// The owning session of an ephemeral node, ``DataNode/containerOwner`` for a container, else 0.
    public var ephemeralOwner: SessionID
    public var pzxid: Zxid
    public var children: Set<String>

    /// How ZooKeeper marks a container in `ephemeralOwner` (`EphemeralType.CONTAINER_EPHEMERAL_OWNER`).
    public static let containerOwner = SessionID(Int64.min)

    public init(
        data: [UInt8]?, acl: [ACL], czxid: Zxid, mzxid: Zxid, ctime: Int64, mtime: Int64, version: Int32 = 0,
        childCreations: Int32 = 0, aversion: Int32 = 0, ephemeralOwner: SessionID = .none, pzxid: Zxid,
        children: Set<String> = []
    ) {
        self.data = data
        self.acl = acl
        self.czxid = czxid
        self.mzxid = mzxid
        self.ctime = ctime
        self.mtime = mtime
        self.version = version
        self.childCreations = childCreations
        self.aversion = aversion
        self.ephemeralOwner = ephemeralOwner
        self.pzxid = pzxid
        self.children = children
    }

    public var isContainer: Bool { ephemeralOwner == Self.containerOwner }

    /// A real session owns this node (not a container, not persistent).
    public var isEphemeral: Bool { ephemeralOwner != .none && !isContainer }

    public var stat: Stat {
        Stat(
            czxid: czxid, mzxid: mzxid, ctime: ctime, mtime: mtime, version: version,
            cversion: childCreations &* 2 &- Int32(children.count), aversion: aversion,
            ephemeralOwner: isEphemeral ? ephemeralOwner : .none, dataLength: Int32(data?.count ?? 0),
            numChildren: Int32(children.count), pzxid: pzxid)
    }
}
