import ZooKeeperProtocol

/// Everything the transaction log makes durable: the tree, the live sessions (with their timeouts) and the last
/// applied zxid. ZooKeeper's `ZKDatabase` minus the I/O.
///
/// ``apply(_:_:)`` is the one state transition: used live by ``ApplyStage`` and on recovery when replaying the log
/// after a snapshot, so both paths produce the same state. Value type; not thread-safe.
public struct CoordinatorState: Sendable {
    public var tree: DataTree
    /// Live sessions and their negotiated timeouts (ms). Sessions survive a restart and then expire unless their
    /// clients reconnect in time, as in ZooKeeper.
    public private(set) var sessions: [SessionID: Int32]
    public private(set) var lastZxid: Zxid

    public init(tree: DataTree = DataTree(), sessions: [SessionID: Int32] = [:], lastZxid: Zxid = .zero) {
        self.tree = tree
        self.sessions = sessions
        self.lastZxid = lastZxid
    }

    /// What applying a transaction did, for building the reply.
    public enum Outcome: Sendable, Equatable {
        case sessionCreated
        case sessionClosed
        case created(path: String, stat: Stat)
        case deleted
        case dataSet(Stat)
        case aclSet(Stat)
        case checked
        case failed(KeeperErrorCode)
        case multi([Outcome])
    }

    /// Applies one transaction at `header.zxid`, which must follow `lastZxid`.
    /// - Returns: the outcome and the watch triggers, in the order the changes happened.
    /// - Throws: the tree's error if the transaction does not fit the state. Prepared transactions always fit, so
    ///   live callers treat this as a broken invariant; recovery reports it as a corrupt log.
    public mutating func apply(_ header: TxnHeader, _ txn: Txn) throws(KeeperError) -> (Outcome, [WatchTrigger]) {
        precondition(header.zxid > lastZxid, "zxid \(header.zxid) applied after \(lastZxid)")
        let result = try applyBody(header, txn)
        lastZxid = header.zxid
        return result
    }

    private mutating func applyBody(_ header: TxnHeader, _ txn: Txn) throws(KeeperError) -> (Outcome, [WatchTrigger]) {
        let zxid = header.zxid
        switch txn {
        case .createSession(let timeout):
            sessions[header.sessionID] = timeout
            return (.sessionCreated, [])
        case .closeSession:
            sessions[header.sessionID] = nil
            return (.sessionClosed, tree.killSession(header.sessionID, zxid: zxid))
        case .create(let path, let data, let acl, let owner, let parentCVersion):
            let triggers = try tree.createNode(
                path: path, data: data, acl: acl, ephemeralOwner: owner, parentCVersion: parentCVersion, zxid: zxid,
                time: header.time)
            return (.created(path: path, stat: tree.stat(at: path)!), triggers)
        case .delete(let path):
            return (.deleted, try tree.deleteNode(path: path, zxid: zxid))
        case .setData(let path, let data, let version):
            let (stat, triggers) = try tree.setData(path: path, data: data, version: version, zxid: zxid, time: header.time)
            return (.dataSet(stat), triggers)
        case .setACL(let path, let acl, let aversion):
            return (.aclSet(try tree.setACL(path: path, acl: acl, aversion: aversion)), [])
        case .check(let path):
            guard tree.node(at: path) != nil else { throw KeeperError(.noNode) }
            return (.checked, [])
        case .error(let code):
            return (.failed(code), [])
        case .multi(let txns):
            var outcomes: [Outcome] = []
            var triggers: [WatchTrigger] = []
            for sub in txns {
                if case .multi = sub { throw KeeperError(.marshallingError) }
                let (outcome, subTriggers) = try applyBody(header, sub)
                outcomes.append(outcome)
                triggers += subTriggers
            }
            return (.multi(outcomes), triggers)
        }
    }

    /// Restores the sessions read from a snapshot.
    package mutating func restore(sessions: [SessionID: Int32], lastZxid: Zxid) {
        self.sessions = sessions
        self.lastZxid = lastZxid
    }
}
