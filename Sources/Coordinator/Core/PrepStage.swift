import ZooKeeperProtocol

/// The first stage of the request pipeline (ZooKeeper's `PrepRequestProcessor`): validates a write request against
/// the current state and turns it into a ``Txn``, deciding everything that depends on that state (sequential
/// names, new versions, the parent's creation count) so that applying it later is deterministic.
///
/// A request that fails validation still becomes a transaction, `.error(code)`: every write consumes a zxid, as in
/// ZooKeeper. Checks run in ZooKeeper's order, so a request with several problems reports the same error.
///
/// ACLs are checked against the requester's ids (``AccessContext``): CREATE on the parent for create, DELETE on the
/// parent for delete, WRITE for setData, ADMIN for setACL, READ for check; the ACLs of create and setACL are validated
/// and `auth` ids expanded first (ZooKeeper's `fixupACL`).
public struct PrepStage: Sendable {
    public init() {}

    /// Prepares a write (`request.isWrite`) from `session`, whose ids are in `access`.
    public func prepare(
        _ request: ZooKeeperRequest, session: SessionID, state: CoordinatorState, access: AccessContext = .anonymous
    ) -> Txn {
        var pending = PendingChanges(tree: state.tree)
        switch request {
        case .multi(let ops):
            return prepareMulti(ops, session: session, access: access, pending: &pending)
        case .closeSession:
            return .closeSession
        default:
            do {
                return try prepareOp(request, session: session, access: access, pending: &pending)
            } catch {
                return .error(error.code)
            }
        }
    }

    /// All or nothing: on the first failure every operation becomes an error transaction (OK before it, its own code,
    /// RuntimeInconsistency after it) and nothing will change.
    private func prepareMulti(
        _ ops: [ZooKeeperRequest], session: SessionID, access: AccessContext, pending: inout PendingChanges
    ) -> Txn {
        var txns: [Txn] = []
        txns.reserveCapacity(ops.count)
        for (index, op) in ops.enumerated() {
            do {
                txns.append(try prepareOp(op, session: session, access: access, pending: &pending))
            } catch {
                let before = [Txn](repeating: .error(.ok), count: index)
                let after = [Txn](repeating: .error(.runtimeInconsistency), count: ops.count - index - 1)
                return .multi(before + [.error(error.code)] + after)
            }
        }
        return .multi(txns)
    }

    private func prepareOp(
        _ request: ZooKeeperRequest, session: SessionID, access: AccessContext, pending: inout PendingChanges
    ) throws(KeeperError) -> Txn {
        switch request {
        case .create(let create), .create2(let create):
            return try prepareCreate(create, op: request.opCode, session: session, access: access, pending: &pending)
        case .createContainer(let create):
            return try prepareCreate(create, op: .createContainer, session: session, access: access, pending: &pending)
        case .createTTL:
            // ZooKeeper refuses TTL nodes unless extended types are enabled (they are not by default).
            throw KeeperError(.unimplemented)
        case .delete(let path, let version):
            return try prepareDelete(path: path, version: version, access: access, pending: &pending)
        case .setData(let path, let data, let version):
            try Self.validate(path)
            guard var node = pending.record(at: path) else { throw KeeperError(.noNode) }
            try access.check(node.acl, .write)
            node.version = try Self.nextVersion(current: node.version, expected: version)
            pending.set(path, node)
            return .setData(path: path, data: data, version: node.version)
        case .setACL(let path, let acl, let version):
            try Self.validate(path)
            let fixed = try access.fixup(acl)
            guard var node = pending.record(at: path) else { throw KeeperError(.noNode) }
            try access.check(node.acl, .admin)
            node.aversion = try Self.nextVersion(current: node.aversion, expected: version)
            node.acl = fixed
            pending.set(path, node)
            return .setACL(path: path, acl: fixed, aversion: node.aversion)
        case .check(let path, let version):
            try Self.validate(path)
            guard let node = pending.record(at: path) else { throw KeeperError(.noNode) }
            try access.check(node.acl, .read)
            _ = try Self.nextVersion(current: node.version, expected: version)
            return .check(path: path)
        default:
            preconditionFailure("\(request.opCode) is not a write")
        }
    }

    private func prepareCreate(
        _ request: CreateRequest, op: OpCode, session: SessionID, access: AccessContext, pending: inout PendingChanges
    ) throws(KeeperError) -> Txn {
        guard let mode = request.mode else { throw KeeperError(.badArguments) }
        if mode.isTTL { throw KeeperError(.unimplemented) }
        guard mode.isContainer == (op == .createContainer) else { throw KeeperError(.badArguments) }
        var path = request.path
        guard path.utf8.contains(UInt8(ascii: "/")), !path.utf8.contains(0) else { throw KeeperError(.badArguments) }
        let acl = try access.fixup(request.acl)
        let parentPath = ZNodePath.parent(of: path) ?? ZNodePath.root
        guard var parent = pending.record(at: parentPath) else { throw KeeperError(.noNode) }
        try access.check(parent.acl, .create)
        if mode.isSequential { path += ZNodePath.sequenceSuffix(parent.childCreations) }
        try Self.validate(path)
        guard pending.record(at: path) == nil else { throw KeeperError(.nodeExists) }
        guard !parent.isEphemeral else { throw KeeperError(.noChildrenForEphemerals) }
        parent.childCreations &+= 1
        parent.childCount += 1
        pending.set(parentPath, parent)
        let owner = mode.isEphemeral ? session : (mode.isContainer ? DataNode.containerOwner : .none)
        pending.set(path, NodeRecord(acl: acl, ephemeralOwner: owner))
        return .create(path: path, data: request.data, acl: acl, ephemeralOwner: owner, parentCVersion: parent.childCreations)
    }

    private func prepareDelete(
        path: String, version: Int32, access: AccessContext, pending: inout PendingChanges
    ) throws(KeeperError) -> Txn {
        guard path.utf8.contains(UInt8(ascii: "/")), !path.utf8.contains(0), !ZNodePath.special.contains(path) else {
            throw KeeperError(.badArguments)
        }
        let parentPath = ZNodePath.parent(of: path) ?? ZNodePath.root
        guard var parent = pending.record(at: parentPath) else { throw KeeperError(.noNode) }
        try access.check(parent.acl, .delete)
        guard let node = pending.record(at: path) else { throw KeeperError(.noNode) }
        _ = try Self.nextVersion(current: node.version, expected: version)
        guard node.childCount == 0 else { throw KeeperError(.notEmpty) }
        parent.childCount -= 1
        pending.set(parentPath, parent)
        pending.set(path, nil)
        return .delete(path: path)
    }

    // MARK: - Checks shared with the read path

    package static func validate(_ path: String) throws(KeeperError) {
        guard ZNodePath.isValid(path) else { throw KeeperError(.badArguments) }
    }

    /// The new version if `expected` matches `current` (−1 matches any); Java's int arithmetic wraps.
    package static func nextVersion(current: Int32, expected: Int32) throws(KeeperError) -> Int32 {
        guard expected == -1 || expected == current else { throw KeeperError(.badVersion) }
        return current &+ 1
    }
}
